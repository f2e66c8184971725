"""Pooled connections: pinged only after sitting idle, and a dead one never reaches a request."""

import time

import psycopg2
import pytest
from sqlalchemy import create_engine, exc, text

from app.pool import ping_when_idle
from config import TestConfig


def _engine(idle_seconds: float):
    engine = create_engine(
        TestConfig.SQLALCHEMY_DATABASE_URI, pool_size=1, max_overflow=0, pool_pre_ping=False
    )
    ping_when_idle(engine, idle_seconds)
    return engine


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _kill(pid: int) -> None:
    """What a server restart or a proxy's idle timeout does to a pooled connection."""
    url = TestConfig.SQLALCHEMY_DATABASE_URI.replace("postgresql+psycopg2://", "postgresql://")
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(50):
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            if cursor.fetchone() is None:
                break
            time.sleep(0.05)
    admin.close()


def test_a_connection_killed_while_idle_is_replaced_before_use(app):
    engine = _engine(idle_seconds=0)
    killed = _backend_pid(engine)
    _kill(killed)
    assert _backend_pid(engine) != killed  # the ping failed, the pool connected afresh
    engine.dispose()


def test_a_recently_used_connection_is_not_pinged(app):
    engine = _engine(idle_seconds=3600)
    killed = _backend_pid(engine)
    _kill(killed)
    with pytest.raises(exc.OperationalError):  # no ping: the dead connection was handed out
        _backend_pid(engine)
    assert _backend_pid(engine) != killed  # and the pool then threw it away
    engine.dispose()


def test_the_app_does_not_ping_on_every_checkout(app):
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
    assert app.config["POOL_IDLE_PING_SECONDS"] > 0
