"""A throwaway PostgreSQL database for tests and benchmarks: created when missing, emptied."""

import re
from pathlib import Path
from urllib.parse import urlparse

import psycopg2

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def recreate_database(url: str) -> None:
    """Create the database at `url` if missing and empty its public schema."""
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise RuntimeError(f"unexpected test database name {name!r}")
    admin = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    # psycopg2 takes a plain libpq URL: drop SQLAlchemy's "+driver" from the scheme.
    connection = psycopg2.connect(re.sub(r"^postgresql\+\w+://", "postgresql://", url))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    connection.close()
