"""The sessions page: a person sees where they are signed in and ends any or all of it."""

import re
from datetime import UTC, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import ActivityLog, ApiToken, Role
from app.services.accounts import api_tokens, signins
from tests.factories import UserFactory
from tests.helpers import PASSWORD

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
LAPTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _signed_in(app, user, agent, address):
    client = app.test_client()
    answer = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"User-Agent": agent},
        environ_base={"REMOTE_ADDR": address},
    )
    assert answer.status_code == 303
    return client


def _session_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r"/account/sessions/(\d+)/end", page)]


def test_the_page_lists_devices_addresses_and_tokens(app):
    user = UserFactory(role=Role.LENDER)
    laptop = _signed_in(app, user, LAPTOP, "198.51.100.10")
    _signed_in(app, user, PHONE, "203.0.113.20")
    api_tokens.issue(db.session, user, days=30, name="spreadsheet")
    page = laptop.get("/account/sessions").get_data(as_text=True)
    assert "Chrome on Linux" in page and "(this browser)" in page
    assert "Mobile Safari on iOS" in page and "203.0.113.20" in page
    assert "spreadsheet" in page
    assert page.index("(this browser)") < page.index("Mobile Safari")  # this one first


def test_ending_another_session_signs_that_device_out_only(app):
    user = UserFactory(role=Role.LENDER)
    laptop = _signed_in(app, user, LAPTOP, "198.51.100.10")
    phone = _signed_in(app, user, PHONE, "203.0.113.20")
    phone_session = next(
        s.id
        for s in signins.live_sessions(db.session, user.id, None, datetime.now(UTC))
        if "iOS" in s.device
    )
    assert laptop.post(f"/account/sessions/{phone_session}/end").status_code == 303
    assert phone.get("/lender/").status_code == 302  # signed out
    assert laptop.get("/lender/").status_code == 200
    ended = db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "auth.session_ended")
    ).one()
    assert ended.ip_address == "127.0.0.1" and ended.details["session_id"] == phone_session


def test_sign_out_everywhere_else_and_revoke_all_tokens(app, client):
    user = UserFactory(role=Role.LENDER)
    others = [_signed_in(app, user, PHONE, f"203.0.113.{n}") for n in range(3)]
    me = _signed_in(app, user, LAPTOP, "198.51.100.10")
    secret, _ = api_tokens.issue(db.session, user, days=30)
    assert me.post("/account/sessions/end-others").status_code == 303
    assert [other.get("/lender/").status_code for other in others] == [302, 302, 302]
    assert me.get("/lender/").status_code == 200
    assert me.post("/account/tokens/revoke-all").status_code == 303
    answer = client.get("/api/v1/users/profile", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 401


def test_nobody_ends_or_revokes_what_is_not_theirs(app):
    owner, stranger = UserFactory(role=Role.LENDER), UserFactory(role=Role.LENDER)
    owner_browser = _signed_in(app, owner, LAPTOP, "198.51.100.10")
    _, token = api_tokens.issue(db.session, owner, days=30)
    intruder = _signed_in(app, stranger, PHONE, "203.0.113.9")
    (owner_session,) = _session_ids(owner_browser.get("/account/sessions").get_data(as_text=True))
    assert intruder.post(f"/account/sessions/{owner_session}/end").status_code == 404
    assert intruder.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert owner_browser.get("/lender/").status_code == 200
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_devices_are_named_for_people():
    assert signins.device(PHONE) == "Mobile Safari on iOS"
    assert signins.device(None) == "Unknown device"
    assert signins.device("curl/8.5.0") == "curl"
