"""Nothing is lost when Redis goes away, and a worker killed mid-job leaves no double effect."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg2
import pytest
from redis import Redis
from sqlalchemy import select

from app.background import jobs
from app.extensions import db
from app.models import Notification, OutboxMessage, OutboxStatus, Role
from app.services.accounts import accounts
from config import TestConfig

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.committing


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A real redis-server on its own port that the test can stop and start."""

    def __init__(self, tmp_path):
        self.port, self.dir, self.process = _free_port(), tmp_path, None

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                Redis(port=self.port).ping()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture()
def own_redis(app, tmp_path, monkeypatch):
    server = OwnRedis(tmp_path)
    server.start()
    monkeypatch.setitem(app.config, "REDIS_URL", server.url)
    monkeypatch.setitem(app.config, "RQ_IS_ASYNC", True)
    monkeypatch.delitem(app.extensions, "communitylend.redis", raising=False)
    yield server
    if server.process.poll() is None:
        server.stop()
    app.extensions.pop("communitylend.redis", None)


def _register(email):
    user = accounts.register(
        db.session,
        email=email,
        password="violet anchor harvest 27",
        role=Role.LENDER,
        first_name="Out",
        last_name="Age",
    )
    db.session.commit()
    return user


def _welcome(user):
    return db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.user_id == user.id, OutboxMessage.kind == "welcome_user"
        )
    ).one()


def _worker(redis_url, **popen):
    environment = {**os.environ, "APP_ENV": "testing", "TEST_REDIS_URL": redis_url}
    return subprocess.Popen(
        [sys.executable, "worker.py", *popen.pop("args", [])], cwd=ROOT, env=environment, **popen
    )


def test_redis_down_then_back_loses_nothing(app, committed, own_redis):
    user = _register("outage@example.com")
    own_redis.stop()
    jobs.relay()
    assert _welcome(user).status is OutboxStatus.PENDING  # kept in PostgreSQL, not lost
    own_redis.start()
    app.extensions.pop("communitylend.redis", None)
    jobs.relay()
    committed.expire_all()
    assert _welcome(user).status is OutboxStatus.ENQUEUED
    result = _worker(own_redis.url, args=["--burst"], stdout=subprocess.DEVNULL)
    result.wait(timeout=120)
    committed.expire_all()
    assert _welcome(user).status is OutboxStatus.DONE
    assert (
        len(committed.scalars(select(Notification).where(Notification.user_id == user.id)).all())
        == 1
    )


def test_a_worker_killed_mid_job_is_retried_with_one_effect(app, committed, own_redis):
    user = _register("killed@example.com")
    jobs.relay()
    message_id = _welcome(user).id
    blocker = psycopg2.connect(TestConfig.SQLALCHEMY_DATABASE_URI.replace("+psycopg2", ""))
    with blocker.cursor() as cursor:  # hold the row, so the job is caught mid-run
        cursor.execute("SELECT id FROM outbox_messages WHERE id = %s FOR UPDATE", (message_id,))
    worker = _worker(own_redis.url, start_new_session=True, stderr=subprocess.DEVNULL)
    started = False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _job_waiting_on_lock():
            time.sleep(0.2)
        started = _job_waiting_on_lock()
    finally:
        if not started:
            worker.kill()
            blocker.rollback()
            blocker.close()
    assert started, "the job never started"
    for process in psutil.Process(worker.pid).children(recursive=True) + [
        psutil.Process(worker.pid)
    ]:
        process.send_signal(signal.SIGKILL)  # the work-horse too (it has its own process group)
    worker.wait(timeout=30)
    blocker.rollback()
    blocker.close()
    committed.expire_all()
    message = _welcome(user)
    assert message.status is OutboxStatus.ENQUEUED and message.done_at is None
    message.enqueued_at = datetime.now(UTC) - timedelta(minutes=11)  # the reconciler's age limit
    committed.commit()
    jobs.relay()
    committed.expire_all()
    assert _welcome(user).status is OutboxStatus.ENQUEUED  # RQ still counts it as running
    from redis import Redis
    from rq.job import Job

    killed = Job.fetch(message.rq_job_id, connection=Redis.from_url(own_redis.url))
    killed.heartbeat(datetime.now(UTC) - timedelta(minutes=5), ttl=60)  # its worker fell silent
    jobs.relay()  # puts the lost job back and enqueues it again
    _worker(own_redis.url, args=["--burst"]).wait(timeout=120)
    committed.expire_all()
    assert _welcome(user).status is OutboxStatus.DONE
    assert (
        len(committed.scalars(select(Notification).where(Notification.user_id == user.id)).all())
        == 1
    )


def _job_waiting_on_lock() -> bool:
    """Is a job blocked on the outbox row? (A fresh connection: stats are per transaction.)"""
    watcher = psycopg2.connect(TestConfig.SQLALCHEMY_DATABASE_URI.replace("+psycopg2", ""))
    try:
        with watcher.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE '%outbox_messages%'"
            )
            return cursor.fetchone()[0] > 0
    finally:
        watcher.close()


@pytest.mark.committing
def test_a_worker_forks_its_jobs_from_a_warm_process_that_holds_no_connection(app):
    import gc

    from sqlalchemy import inspect

    from app.background.forking import warm_before_forking
    from app.models import User
    from app.services.platform import risk_models

    risk_models._LOADED.clear()
    try:
        warm_before_forking()
        for engine in db.engines.values():  # a connection shared across a fork corrupts both
            assert engine.pool.checkedin() == 0 and engine.pool.checkedout() == 0
        assert inspect(User).configured  # not redone by every work-horse
        version = risk_models.active_version(db.session)
        assert version in risk_models._LOADED  # every scoring job inherits the loaded model
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        db.session.remove()
