"""The outbox: jobs written with the change, relayed, retried, and run by a real RQ worker."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.background import jobs
from app.extensions import db
from app.models import Notification, OutboxMessage, OutboxStatus, Role
from app.services.accounts import accounts
from app.services.platform import outbox

ROOT = Path(__file__).resolve().parents[2]


def _register(email="nia@example.com"):
    return accounts.register(
        db.session,
        email=email,
        password="violet anchor harvest 27",
        role=Role.LENDER,
        first_name="Nia",
        last_name="Osei",
    )


def _message(user):
    return db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.user_id == user.id, OutboxMessage.kind == "welcome_user"
        )
    ).one()


def test_relay_without_redis_runs_the_job_in_process(no_redis):
    user = _register()
    assert jobs.relay() == 1
    message = _message(user)
    assert message.status is OutboxStatus.DONE and message.done_at is not None
    email = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "send_email")
    ).one()
    assert email.status is OutboxStatus.PENDING  # written by the job, relayed on the next pass
    notification = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
    ).one()
    assert notification.title == "Welcome to CommunityLend"
    assert jobs.relay() == 1  # the welcome email, captured (no SMTP in tests)
    assert jobs.relay() == 0


def test_the_same_dedupe_key_is_written_once():
    user = _register()
    outbox.add(db.session, "welcome_user", {"user_id": user.id}, dedupe_key=f"welcome-{user.id}")
    assert (
        len(
            db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "welcome_user")
            ).all()
        )
        == 1
    )


def test_running_a_job_twice_has_one_effect(no_redis):
    user = _register()
    jobs.welcome_user({"user_id": user.id})
    jobs.welcome_user({"user_id": user.id})
    count = len(
        db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()
    )
    assert count == 1
    message = _message(user)
    assert jobs.run_outbox_message(message.id) == "done"
    assert jobs.run_outbox_message(message.id) == "skipped"


def test_a_failing_job_backs_off_then_fails_and_can_be_retried(monkeypatch, no_redis):
    calls = []

    def flaky(payload):
        calls.append(payload)
        raise ConnectionError("smtp down")

    monkeypatch.setitem(jobs.HANDLERS, "flaky", flaky)
    outbox.add(db.session, "flaky", {"n": 1}, dedupe_key="flaky-1")
    jobs.relay()
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "flaky")).one()
    assert message.status is OutboxStatus.PENDING and message.attempts == 1
    assert "smtp down" in message.last_error
    assert message.available_at > datetime.now(UTC) + timedelta(seconds=20)
    assert jobs.relay() == 0  # not due yet
    for _ in range(4):
        message.available_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.flush()
        jobs.relay()
    assert message.status is OutboxStatus.FAILED and message.attempts == 5
    assert len(calls) == 5
    assert outbox.retry(db.session, message.id)
    assert message.status is OutboxStatus.PENDING and message.attempts == 0
    assert not outbox.retry(db.session, message.id)


def test_messages_lost_on_the_queue_are_put_back():
    user = _register()
    message = _message(user)
    message.status = OutboxStatus.ENQUEUED
    message.enqueued_at = datetime.now(UTC) - timedelta(minutes=11)
    db.session.flush()
    assert outbox.requeue_stale(db.session) == 1
    assert message.status is OutboxStatus.PENDING


def test_only_jobs_rq_has_lost_are_handed_out_again(redis_client):
    """A job still waiting behind a long queue is not lost; one Redis forgot, one that failed
    without our commit, and one whose worker stopped beating are (against a real Redis)."""
    from rq import Queue
    from rq.job import JobStatus

    queue = Queue("lost-or-not", connection=redis_client)
    waiting = queue.enqueue(print, "x", job_id="outbox-1-0")
    assert not jobs.job_lost(queue, waiting.id)
    assert jobs.job_lost(queue, "outbox-2-0")  # Redis restarted: it never heard of it
    assert jobs.job_lost(queue, None)
    waiting.set_status(JobStatus.FAILED)
    assert jobs.job_lost(queue, waiting.id)
    waiting.set_status(JobStatus.STARTED)
    waiting.heartbeat(datetime.now(UTC), ttl=60)
    assert not jobs.job_lost(queue, waiting.id)  # running, its worker beating
    waiting.heartbeat(datetime.now(UTC) - timedelta(minutes=5), ttl=60)
    assert jobs.job_lost(queue, waiting.id)  # its worker was killed

    user = _register()
    message = _message(user)
    message.status, message.rq_job_id = OutboxStatus.ENQUEUED, "outbox-3-0"
    message.enqueued_at = datetime.now(UTC) - timedelta(minutes=11)
    db.session.flush()
    assert outbox.requeue_stale(db.session, is_lost=lambda job: False) == 0
    assert message.status is OutboxStatus.ENQUEUED
    assert outbox.requeue_stale(db.session, is_lost=lambda job: job == "outbox-3-0") == 1
    assert message.status is OutboxStatus.PENDING


def test_relay_leaves_messages_pending_when_redis_is_down(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.delitem(app.extensions, "communitylend.redis", raising=False)
    user = _register()
    jobs.relay()
    assert _message(user).status is OutboxStatus.PENDING
    app.extensions.pop("communitylend.redis", None)


@pytest.mark.committing
def test_a_real_rq_worker_runs_relayed_jobs(app, committed, redis_client, monkeypatch):
    monkeypatch.setitem(app.config, "RQ_IS_ASYNC", True)
    user = _register("worker@example.com")
    committed.commit()
    assert jobs.relay() == 1
    message = _message(user)
    assert message.status is OutboxStatus.ENQUEUED and message.rq_job_id
    environment = {**os.environ, "APP_ENV": "testing"}
    result = subprocess.run(
        [sys.executable, "worker.py", "--burst"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    committed.expire_all()
    assert _message(user).status is OutboxStatus.DONE
    titles = committed.scalars(
        select(Notification.title).where(Notification.user_id == user.id)
    ).all()
    assert titles == ["Welcome to CommunityLend"]


def test_a_fully_funded_listing_is_issued_by_its_job(no_redis):
    from decimal import Decimal

    from app.models import Loan, LoanStatus
    from app.services.lending import investing
    from tests.builders import key, lender, listed_loan

    loan = listed_loan("500.00")
    investor = lender(Decimal("500"))
    investing.invest(
        db.session,
        lender_id=investor.id,
        loan_id=loan.id,
        amount=Decimal("500"),
        idempotency_key=key(),
    )
    jobs.relay()
    assert db.session.get(Loan, loan.id, populate_existing=True).status is LoanStatus.ISSUED
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "issue_loan")
    ).one()
    assert message.status is OutboxStatus.DONE
    assert jobs.run_outbox_message(message.id) == "skipped"
