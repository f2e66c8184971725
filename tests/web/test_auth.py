"""Registration, sign-in, sign-out, password change, through the test client."""

import re

from sqlalchemy import func, select

from app.background import jobs
from app.extensions import db
from app.models import ActivityLog, OutboxMessage, Role, User, UserSession
from tests.factories import UserFactory
from tests.helpers import HX, PASSWORD

GOOD = "violet anchor harvest 27"


def _register(client, headers=None, **overrides):
    data = {
        "role": "borrower",
        "first_name": "Rita",
        "last_name": "Reyes",
        "email": "rita@example.com",
        "password": GOOD,
        "confirm": GOOD,
        **overrides,
    }
    return client.post("/register", data=data, headers=headers or {})


def _users_with(email):
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == email))


def _confirm(client, inbox):
    """Follow the link in the last email, as its recipient would."""
    jobs.relay()
    (path,) = re.findall(r"https?://[^/\s]+(/register/confirm\S*)", inbox.text_of())
    return client.get(path)


def test_register_emails_a_link_that_opens_the_account_signed_in(client, smtp):
    response = _register(client, email="Rita@Example.COM")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert _users_with("rita@example.com") == 0  # nothing until the address is confirmed
    opened = _confirm(client, smtp)
    assert opened.status_code == 303 and opened.headers["Location"] == "/account"
    user = db.session.scalar(select(User).where(User.email == "rita@example.com"))
    assert user.role is Role.BORROWER
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD not in user.password_hash
    assert client.get("/account").status_code == 200
    kinds = db.session.scalars(
        select(OutboxMessage.kind).where(OutboxMessage.user_id == user.id)
    ).all()
    assert kinds == ["welcome_user"]
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": GOOD}).status_code == 303


def test_register_as_lender(client, smtp):
    assert _register(client, role="lender", email="lena@example.com").status_code == 303
    _confirm(client, smtp)
    assert (
        db.session.scalar(select(User.role).where(User.email == "lena@example.com")) is Role.LENDER
    )


def test_weak_password_is_422_with_a_field_error_and_nothing_created(client):
    response = _register(client, password="password123", confirm="password123")
    assert response.status_code == 422
    assert b'aria-invalid="true"' in response.data
    assert b"password-error" in response.data
    assert _users_with("rita@example.com") == 0


def test_short_password_and_mismatch_are_explained(client):
    response = _register(client, password="abc", confirm="abd")
    assert response.status_code == 422
    assert b"do not match" in response.data
    assert _users_with("rita@example.com") == 0


def test_nobody_can_register_as_admin(client):
    response = _register(client, role="admin")
    assert response.status_code == 422
    assert _users_with("rita@example.com") == 0


def test_invalid_htmx_registration_returns_only_the_form(client):
    response = _register(client, headers=HX, email="not-an-email")
    assert response.status_code == 422
    assert b"<html" not in response.data
    assert b'id="register-form"' in response.data


def test_valid_htmx_registration_navigates_with_hx_redirect(client):
    response = _register(client, headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login"


def test_login_with_right_password_goes_to_the_role_home(client):
    user = UserFactory(role=Role.LENDER)
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/lender/"
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ActivityLog)
            .where(ActivityLog.user_id == user.id, ActivityLog.action == "auth.signed_in")
        )
        == 1
    )


def test_wrong_password_is_422_logged_and_vague(client):
    user = UserFactory()
    response = client.post(
        "/login",
        data={"email": user.email, "password": "nope nope nope"},
        headers={"User-Agent": "pytest-agent"},
    )
    assert response.status_code == 422
    assert b"Email or password is incorrect." in response.data
    failed = db.session.scalars(
        select(ActivityLog).where(
            ActivityLog.action == "auth.sign_in_failed", ActivityLog.user_id == user.id
        )
    ).one()
    assert failed.user_agent == "pytest-agent"
    assert str(failed.ip_address) == "127.0.0.1"
    unknown = client.post("/login", data={"email": "ghost@example.com", "password": "x" * 12})
    assert unknown.status_code == 422
    assert b"Email or password is incorrect." in unknown.data


def test_login_next_stays_on_this_site(client):
    user = UserFactory()
    inside = client.post("/login?next=/account", data={"email": user.email, "password": PASSWORD})
    assert inside.headers["Location"] == "/account"
    client.post("/logout")
    outside = client.post(
        "/login?next=//evil.example/x", data={"email": user.email, "password": PASSWORD}
    )
    assert outside.headers["Location"] == "/borrower/"


def test_suspended_user_cannot_sign_in(client):
    user = UserFactory(is_active=False)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 422
    assert b"suspended" in response.data


def test_suspending_a_signed_in_user_ends_their_session(client, login):
    user = login(UserFactory())
    user.is_active = False
    db.session.flush()
    assert client.get("/account").status_code == 302


def test_copied_cookie_is_refused_after_logout(app, client, login):
    login(UserFactory())
    stolen = client.get_cookie("session").value
    assert client.get("/account").status_code == 200
    assert client.post("/logout").status_code == 303
    attacker = app.test_client()
    attacker.set_cookie("session", stolen)
    response = attacker.get("/account")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_logout_is_post_only(client, login):
    login(UserFactory())
    assert client.get("/logout").status_code == 405
    assert client.get("/account").status_code == 200


def test_each_sign_in_gets_a_new_session(client):
    user = UserFactory()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    first = client.get_cookie("session").value
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert client.get_cookie("session").value != first
    assert (
        db.session.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)
        )
        == 2
    )


def test_change_password_needs_the_current_one(client, login):
    login(UserFactory())
    response = client.post(
        "/account/password",
        data={"current_password": "wrong wrong wrong", "new_password": GOOD, "confirm": GOOD},
    )
    assert response.status_code == 422
    assert b"current password is not correct" in response.data


def test_change_password_keeps_this_session_and_ends_the_others(app, client, login):
    user = login(UserFactory())
    other_device = app.test_client()
    other_device.post("/login", data={"email": user.email, "password": PASSWORD})
    assert other_device.get("/account").status_code == 200
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": GOOD, "confirm": GOOD},
    )
    assert response.status_code == 303
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": GOOD}).status_code == 303


def test_anonymous_htmx_request_gets_401_with_hx_redirect(client):
    response = client.get("/account/profile/edit", headers=HX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_anonymous_page_request_redirects_to_login(client):
    response = client.get("/borrower/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_a_mismatch_and_a_weak_password_are_told_together(client):
    """Issue 16 defect 11: the errors came one at a time (mismatch, then weakness)."""
    response = _register(client, password="password12", confirm="password13")
    assert response.status_code == 422
    assert b"do not match" in response.data
    assert b"Try a longer phrase of unrelated words" in response.data
    assert _users_with("rita@example.com") == 0
