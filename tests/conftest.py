"""Fixtures: real PostgreSQL (migrated schema, a rolled-back transaction per test), real Redis."""

import socket
import time
from urllib.parse import urlparse

import pytest
from flask import g, request_started
from flask_migrate import upgrade
from redis import Redis
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from threadpoolctl import threadpool_limits

from app import create_app
from app.extensions import db
from config import TestConfig
from tests.database import MIGRATIONS, recreate_database
from tests.helpers import HX, PASSWORD, no_redis  # noqa: F401 - fixtures and names for tests
from tests.mailbox import smtp  # noqa: F401 - fixture
from tests.stripe_peer import (  # noqa: F401 - fixtures
    _localstripe_server,
    _stripe_live_server,
    localstripe,
    stripe_app,
)

START_HINT = {
    "postgres": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "redis": (
        "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"
    ),
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _require_services() -> None:
    database = urlparse(TestConfig.SQLALCHEMY_DATABASE_URI)
    redis = urlparse(TestConfig.REDIS_URL)
    missing = []
    if not _reachable(database.hostname or "127.0.0.1", database.port or 5432):
        missing.append(
            f"PostgreSQL at {database.hostname}:{database.port or 5432} "
            f"(start it: {START_HINT['postgres']})"
        )
    if not _reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        missing.append(
            f"Redis at {redis.hostname}:{redis.port or 6379} (start it: {START_HINT['redis']})"
        )
    if missing:
        pytest.exit(
            "The tests need real services that are not running:\n  " + "\n  ".join(missing),
            returncode=3,
        )


def _forget_cached_user(sender, **extra) -> None:
    # Tests hold one app context for their whole run, so `g` outlives a request;
    # in production every request has a fresh one. Make requests here behave the same.
    for name in list(g):
        g.pop(name)
    # Data a test built is in the database before its request, as it would be in production,
    # so a view's rollback undoes only the request's own work (inside the test's transaction).
    db.session.commit()


def pytest_sessionstart(session) -> None:
    _require_services()
    # One OpenMP thread for scikit-learn's gradient boosting: with both cores busy (PostgreSQL,
    # a browser, another test process) its threads spin at every barrier waiting for each
    # other, and training the test model took 320 s instead of 9 (tests/unit/test_batch_scoring).
    threadpool_limits(limits=1)


@pytest.fixture(scope="session")
def app():
    """The app on a freshly migrated test database (the migrations, not create_all)."""
    recreate_database(TestConfig.SQLALCHEMY_DATABASE_URI)
    app = create_app(TestConfig)
    request_started.connect(_forget_cached_user, app)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        db.session.configure(join_transaction_mode="create_savepoint")
        yield app
        db.session.remove()


@pytest.fixture(autouse=True)
def _fresh_g(app):
    """Nothing a test's requests left on the long-lived `g` (the signed-in user above all)
    reaches the next test: a job there renders templates whose context asks who is signed in."""
    yield
    for name in list(g):
        g.pop(name)


@pytest.fixture(autouse=True)
def _db_transaction(request, app):
    """Run each test in a transaction that is rolled back (unless marked committing)."""
    if request.node.get_closest_marker("committing"):
        yield
        db.session.remove()
        return
    engines = db.engines
    engine = engines[None]
    connection = engine.connect()
    transaction = connection.begin()
    # Deferred ledger checks would otherwise wait for a COMMIT that never comes.
    connection.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
    engines[None] = connection  # Flask-SQLAlchemy 3 binds through db.engines
    yield
    db.session.remove()
    engines[None] = engine
    transaction.rollback()
    connection.close()


@pytest.fixture()
def redis_client(app):
    """The tests' own Redis database, emptied before and after."""
    client = Redis.from_url(app.config["REDIS_URL"])
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture()
def login(client):
    """Sign in through the real form: login(user) or login(user, password)."""

    def sign_in(user, password: str = PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 303, response.data[:500]
        return user

    return sign_in


@pytest.fixture()
def committed(app):
    """For tests that need real commits (other processes, concurrency): empty tables after."""
    yield db.session
    db.session.rollback()
    tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    for attempt in range(10):  # a live server's job thread may be mid-transaction: retry
        try:
            db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
            return
        except OperationalError:
            db.session.rollback()
            time.sleep(0.5 * (attempt + 1))
    raise RuntimeError("could not empty the test database after a committing test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (fixtures check whether the test passed)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
