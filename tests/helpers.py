"""What many tests share: htmx request headers, the demo password, a no-Redis switch."""

import pytest

HX = {"HX-Request": "true"}
YES = {"confirmed": "yes"}  # the answer to a confirmation step (tests of the step leave it out)
PASSWORD = "correct horse battery staple 9"


@pytest.fixture()
def no_redis(app, monkeypatch):
    """Jobs run in-process through the outbox relay, as in `make run` without Redis."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def live_server_environment(port: int, **overrides: str) -> dict:
    """The environment of a live server of the app (the dev entry point) beside the tests:
    the test database, no Redis, and the tests' sealing keys, so both read what either wrote."""
    import os

    from config import TestConfig

    return {
        **os.environ,
        "APP_ENV": "development",
        "PORT": str(port),
        "DATABASE_URL": TestConfig.SQLALCHEMY_DATABASE_URI,
        "ENCRYPTION_KEYS": TestConfig.ENCRYPTION_KEYS,
        "REDIS_URL": "",
        "SEED_DEMO_DATA": "false",
        "RUN_SCHEDULER": "false",  # tests decide what runs; a tick would leave rows behind
        **overrides,
    }


def every_stored_value(columns_of_type: tuple[str, ...] | None = None) -> str:
    """Every value of every column of every table (of these types, if given), as one string:
    what someone holding a copy of the database could read."""
    from sqlalchemy import text

    from app.extensions import db

    query = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
    if columns_of_type:
        query += " AND data_type IN (" + ", ".join(f"'{kind}'" for kind in columns_of_type) + ")"
    values = []
    for table, column in db.session.execute(text(query)).all():
        values += db.session.scalars(
            text(f'SELECT CAST("{column}" AS text) FROM "{table}" WHERE "{column}" IS NOT NULL')
        ).all()
    return "\n".join(values)
