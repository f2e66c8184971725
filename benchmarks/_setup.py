"""Shared benchmark plumbing: a fresh, migrated database and an app bound to it."""

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import psycopg2
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]


def fresh_app(default_name: str):
    """An app on an emptied, migrated benchmark database (BENCH_DATABASE_URL)."""
    url = os.environ.get(
        "BENCH_DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{default_name}"
    )
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"unexpected database name {name!r}")
    admin = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    connection.close()

    from app import create_app
    from config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url.replace("postgresql://", "postgresql+psycopg2://", 1)

    app = create_app(BenchConfig)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return app
