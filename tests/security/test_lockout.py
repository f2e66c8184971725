"""Lockout and throttling: sign-in pauses per email after repeated failures.

The failed-sign-in counter existed and was never enforced. Now the fifth failure in a row
pauses sign-in with that email for a minute, each further one doubles the pause up to an hour,
wherever the attempts come from; the pause looks the same for an address with no account; the
owner is told once; a new password or a successful sign-in clears it.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app import create_app
from app.background import jobs
from app.extensions import db
from app.models import ActivityLog, Notification, SignInThrottle
from app.services.accounts import throttle
from config import ProductionConfig, TestConfig
from tests.factories import UserFactory
from tests.helpers import PASSWORD

WRONG = "not my password at all 1"


def _sign_in(client, email, password, address="203.0.113.7"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _answers(client, email, count):
    """Wrong passwords from a different address each time: (status, message) per attempt."""
    answers = []
    for attempt in range(count):
        answer = _sign_in(client, email, WRONG, address=f"198.51.100.{attempt + 1}")
        message = re.search(rb'role="alert"[^>]*>\s*(?:<p>)?([^<]+)', answer.data)
        answers.append((answer.status_code, message and message.group(1).strip()))
    return answers


def test_the_fifth_failure_pauses_sign_in_even_with_the_right_password(client):
    user = UserFactory()
    answers = _answers(client, user.email, 5)
    assert [status for status, _ in answers] == [422] * 5
    assert b"incorrect" in answers[3][1] and b"Try again in 1 minute" in answers[4][1]
    paused = _sign_in(client, user.email, PASSWORD)
    assert paused.status_code == 422 and b"Too many failed sign-ins" in paused.data
    assert client.get("/account").status_code == 302  # not signed in


def test_a_pause_looks_the_same_for_an_email_with_no_account(app):
    UserFactory(email="owner@example.com")
    known = _answers(app.test_client(), "owner@example.com", 7)
    unknown = _answers(app.test_client(), "nobody@example.com", 7)
    assert known == unknown


def test_each_further_failure_doubles_the_pause_up_to_an_hour():
    assert [throttle.pause_for(n) for n in (4, 5, 6, 7, 10, 11, 30)] == [
        None,
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=32),
        timedelta(minutes=60),
        timedelta(minutes=60),
    ]


def test_when_the_pause_ends_the_right_password_works_and_the_count_restarts(client):
    user = UserFactory()
    _answers(client, user.email, 5)
    db.session.execute(
        update(SignInThrottle).values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert _sign_in(client, user.email, PASSWORD).status_code == 303
    assert db.session.scalars(select(SignInThrottle)).all() == []
    client.post("/logout")
    assert _answers(client, user.email, 1) == [(422, b"Email or password is incorrect.")]


def test_the_owner_is_told_once_and_the_log_keeps_address_and_agent(client):
    user = UserFactory()
    _answers(client, user.email, 7)
    notices = db.session.scalars(
        select(Notification).where(
            Notification.user_id == user.id, Notification.kind == "auth.sign_in_paused"
        )
    ).all()
    assert len(notices) == 1
    locked = db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "auth.account_locked")
    ).one()
    assert locked.user_id == user.id and locked.ip_address == "198.51.100.5"


def test_a_new_password_ends_the_pause(app, client, smtp):
    user = UserFactory()
    _answers(client, user.email, 6)
    client.post("/password/forgot", data={"email": user.email})
    jobs.relay()
    (link,) = re.findall(r"https?://[^/\s]+(/password/reset\S*)", smtp.text_of())
    client.get(link)
    new = "harbor quartz lantern 88"
    assert client.post("/password/reset", data={"password": new, "confirm": new}).status_code == 303
    assert _sign_in(client, user.email, new).status_code == 303


def test_production_needs_redis_for_its_limits(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", TestConfig.SQLALCHEMY_DATABASE_URI)
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "k" * 48)
    monkeypatch.setattr(ProductionConfig, "REDIS_URL", None)
    with pytest.raises(RuntimeError, match="REDIS_URL must be set in production"):
        create_app(ProductionConfig)
