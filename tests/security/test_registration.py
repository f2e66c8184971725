"""Hole 6: registering tells nobody which emails have accounts, and is rate-limited.

The probe registered with known and unknown emails and read the difference ("An account with
this email already exists"), 25 times without a 429. Now the answer is the same byte for byte
(status, headers, page after the redirect), what differs arrives by email (a real SMTP server),
and the form is limited like sign-in.
"""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from app.background import jobs
from app.extensions import db
from app.models import PendingRegistration, Role, User
from app.services.accounts import registration
from tests.factories import UserFactory

GOOD = "violet anchor harvest 27"


def _register(client, email, **overrides):
    data = {
        "role": "lender",
        "first_name": "Rita",
        "last_name": "Reyes",
        "email": email,
        "password": GOOD,
        "confirm": GOOD,
        **overrides,
    }
    return client.post("/register", data=data)


def _what_the_visitor_sees(app, email: str) -> tuple:
    client = app.test_client()  # a fresh visitor each time: no cookies carried over
    answer = _register(client, email)
    page = client.get(answer.headers["Location"])
    # Each answer has its own request id, as it has its own date.
    headers = {
        k: v for k, v in answer.headers if k not in ("Date", "Set-Cookie", "Vary", "X-Request-Id")
    }
    return answer.status_code, headers, answer.data, page.status_code, _without_csrf(page.data)


def _without_csrf(html: bytes) -> bytes:
    """Each visitor's CSRF token is their own random value; all else must match."""
    return re.sub(rb'("X-CSRFToken": "|name="csrf_token" type="hidden" value=")[^"]+', rb"\1", html)


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(app, smtp):
    owner = UserFactory(email="known@example.com", role=Role.BORROWER)
    known = _what_the_visitor_sees(app, "known@example.com")
    unknown = _what_the_visitor_sees(app, "unknown@example.com")
    assert known == unknown
    assert known[0] == 303 and b"Check your email" in known[4]

    jobs.relay()
    mail = {recipients[0]: i for i, (recipients, _) in enumerate(smtp.messages)}
    assert set(mail) == {"known@example.com", "unknown@example.com"}
    assert "already has one" in smtp.text_of(mail["known@example.com"])
    assert "/register/confirm" not in smtp.text_of(mail["known@example.com"])
    assert "/register/confirm?token=" in smtp.text_of(mail["unknown@example.com"])
    db.session.refresh(owner)
    assert owner.role is Role.BORROWER and owner.first_name != "Rita"  # untouched
    count = select(func.count()).select_from(User)
    assert db.session.scalar(count.where(User.email == "known@example.com")) == 1
    assert db.session.scalar(count.where(User.email == "unknown@example.com")) == 0


def test_the_link_opens_the_account_once(app, client, smtp):
    _register(client, "new@example.com")
    jobs.relay()
    (path,) = re.findall(r"https?://[^/\s]+(/register/confirm\S*)", smtp.text_of())
    first = app.test_client().get(path)
    assert first.status_code == 303 and first.headers["Location"] == "/account"
    again = app.test_client().get(path)
    assert again.status_code == 303 and again.headers["Location"] == "/login"
    assert db.session.scalar(select(func.count()).where(User.email == "new@example.com")) == 1
    assert db.session.scalar(select(func.count()).select_from(PendingRegistration)) == 0


def test_a_later_sign_up_replaces_the_earlier_link_and_old_links_expire(app, client, smtp):
    _register(client, "twice@example.com", first_name="First")
    _register(client, "twice@example.com", first_name="Second")
    jobs.relay()
    paths = [
        re.search(r"(/register/confirm\S*)", smtp.text_of(i)).group(1)
        for i in range(len(smtp.messages))
    ]
    assert len(paths) == 1  # the first sign-up was replaced before its email went out
    db.session.execute(
        update(PendingRegistration).values(created_at=datetime.now(UTC) - timedelta(days=2))
    )
    assert registration.forget_stale(db.session) == 1
    assert app.test_client().get(paths[0]).headers["Location"] == "/login"  # expired
    assert db.session.scalar(select(func.count()).where(User.email == "twice@example.com")) == 0


def test_tampered_links_open_nothing(app, client):
    for token in ("", "x", "eyJwIjoxfQ.forged.signature", "a" * 5000):
        answer = client.get("/register/confirm", query_string={"token": token})
        assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_registering_is_rate_limited_like_sign_in(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    answers = [_register(client, f"try{i}@example.com").status_code for i in range(5)]
    assert answers[:3] == [303, 303, 303] and answers[3:] == [429, 429]
