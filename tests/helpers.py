"""What many tests share: htmx request headers, the demo password, a no-Redis switch."""

import pytest

HX = {"HX-Request": "true"}
PASSWORD = "correct horse battery staple 9"


@pytest.fixture()
def no_redis(app, monkeypatch):
    """Jobs run in-process through the outbox relay, as in `make run` without Redis."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)
