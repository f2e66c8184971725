"""Shared benchmark plumbing: a fresh, migrated database and an app bound to it."""

import os
from pathlib import Path

from flask_migrate import upgrade

from tests.database import MIGRATIONS, recreate_database

ROOT = Path(__file__).resolve().parents[1]


def fresh_app(default_name: str):
    """An app on an emptied, migrated benchmark database (BENCH_DATABASE_URL)."""
    url = os.environ.get(
        "BENCH_DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{default_name}"
    )
    recreate_database(url)

    from app import create_app
    from config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url.replace("postgresql://", "postgresql+psycopg2://", 1)

    app = create_app(BenchConfig)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app
