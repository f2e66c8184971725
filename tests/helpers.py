"""What many tests share: htmx request headers, the demo password, a no-Redis switch."""

import pytest

HX = {"HX-Request": "true"}
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
