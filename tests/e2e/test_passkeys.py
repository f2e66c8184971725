"""Passkeys in Chromium with its virtual authenticator (CDP WebAuthn): add one, sign in with it
and no password, then use it as the second step after a password."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import ActivityLog, Passkey, Role
from tests.factories import UserFactory
from tests.helpers import PASSWORD

pytestmark = pytest.mark.committing


@pytest.fixture()
def passkey_page(browser, localhost_url):
    context = browser.new_context(base_url=localhost_url)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield page
    context.close()


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/login")


def test_add_a_passkey_then_sign_in_with_it_alone_and_as_the_second_step(passkey_page, committed):
    page = passkey_page
    user = UserFactory(role=Role.LENDER)
    committed.commit()
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url("/lender/")

    page.goto("/account/mfa")
    page.get_by_label("Name for a new passkey").fill("Work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("Work laptop")).to_be_visible()
    _sign_out(page)

    page.get_by_role("button", name="Sign in with a passkey").click()  # no email, no password
    expect(page).to_have_url("/lender/")
    _sign_out(page)

    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url("/login/second-step")
    page.get_by_role("button", name="Use a passkey instead").click()
    expect(page).to_have_url("/lender/")

    committed.expire_all()
    key = committed.scalars(select(Passkey).where(Passkey.user_id == user.id)).one()
    assert key.name == "Work laptop" and key.last_used_at is not None
    uses = committed.scalars(
        select(ActivityLog.details).where(ActivityLog.action == "auth.passkey_used")
    ).all()
    assert [use["purpose"] for use in uses] == ["signin", "second-step"]
