"""Forgotten passwords, and the first password of an imported account: a one-time timed link."""

import re

from sqlalchemy import func, select

from app.background import jobs
from app.extensions import db
from app.models import ActivityLog, Notification, OutboxMessage, Role
from app.services.accounts import password_reset
from tests.factories import UserFactory
from tests.helpers import PASSWORD

NEW_PASSWORD = "saffron kayak meridian 58"


def _link_for(inbox) -> str:
    """The path and query of the link in the last email, as the test client takes it."""
    jobs.relay()
    (link,) = re.findall(r"https?://[^/\s]+(/password/reset\S*)", inbox.text_of())
    return link


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(client):
    UserFactory(email="known@example.com")
    known = client.post("/password/forgot", data={"email": "known@example.com"})
    unknown = client.post("/password/forgot", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
    assert (
        db.session.scalar(select(func.count()).where(OutboxMessage.kind == "send_email")) == 1
    )  # the email goes out through the outbox
    assert (
        db.session.scalar(
            select(func.count()).where(ActivityLog.action == "auth.password_reset_requested")
        )
        == 2
    )


def test_the_link_sets_a_new_password_once_and_ends_old_sessions(app, client, login, smtp):
    user = UserFactory(role=Role.LENDER)
    other_device = app.test_client()
    other_device.post("/login", data={"email": user.email, "password": PASSWORD})
    assert other_device.get("/lender/").status_code == 200

    client.post("/password/forgot", data={"email": user.email})
    link = _link_for(smtp)
    assert re.fullmatch(r"/password/reset\?token=[\w.-]+", link)
    assert client.get(link).status_code == 303
    assert client.get("/password/reset").status_code == 200
    form = "/password/reset"
    weak = client.post(form, data={"password": "password1", "confirm": "password1"})
    assert weak.status_code == 422
    done = client.post(form, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"].endswith("/login")

    assert other_device.get("/lender/").status_code == 302  # signed out everywhere
    assert (
        client.post(form, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 410
    )
    assert client.get(link).status_code == 410
    wrong = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert wrong.status_code == 422
    login(user, NEW_PASSWORD)


def test_an_imported_account_sets_its_first_password(client, login, smtp):
    user = UserFactory(role=Role.BORROWER, password_hash="!imported")
    client.post("/password/forgot", data={"email": user.email})
    client.get(_link_for(smtp))
    client.post("/password/reset", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    login(user, NEW_PASSWORD)


def test_tampered_expired_and_suspended_links_are_refused(app, client):
    user = UserFactory()
    token = password_reset.make_token(user, app.config["SIGNING_KEYS"]["password-reset"])
    assert client.get(f"/password/reset?token={token}x").status_code == 410
    assert (
        password_reset.user_for_token(
            db.session, token, app.config["SIGNING_KEYS"]["password-reset"], max_age=-1
        )
        is None
    )
    assert password_reset.user_for_token(db.session, token, "another secret") is None
    assert (
        password_reset.user_for_token(
            db.session, token, app.config["SIGNING_KEYS"]["password-reset"]
        )
        == user
    )
    user.is_active = False
    assert client.get(f"/password/reset?token={token}").status_code == 410


def test_the_sign_in_page_links_to_it(client):
    assert b'href="/password/forgot"' in client.get("/login").data
