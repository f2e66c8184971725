"""A person opens an account, signs in, edits the profile inline and signs out, in Chromium."""

import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import User
from tests.e2e.conftest import mailed_link

PASSWORD = "violet anchor harvest 27"
pytestmark = pytest.mark.committing


@pytest.mark.parametrize("page", ["desktop", "phone"], indirect=True)
def test_register_login_edit_profile_inline_and_logout(page, committed, live_mailbox):
    email = f"journey-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/")
    page.get_by_role("link", name="Apply for a loan").click()
    page.get_by_label("First name").fill("Jo")
    page.get_by_label("Last name").fill("Tester")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("password123")
    page.get_by_label("Repeat password").fill("password123")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-error")).to_be_visible()  # weak password: 422 swapped inline

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    page.goto(mailed_link(live_mailbox, email, "/register/confirm"))
    expect(page).to_have_url("/account")
    expect(page.get_by_text("Your profile is incomplete")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url("/borrower/")

    page.get_by_role("link", name="Profile", exact=True).click()
    url_before = page.url
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Phone").fill("+1 555 0177")
    page.get_by_label("Date of birth").fill("1991-07-04")
    page.get_by_label("Address", exact=True).fill("5 River Road")
    page.get_by_label("City").fill("Boise")
    page.get_by_label("State").fill("ID")
    page.get_by_label("Postal code").fill("83702")
    page.get_by_label("Annual income (USD)").fill("-1")
    page.get_by_label("Employment status").select_option("employed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter an amount from $0")).to_be_visible()
    page.get_by_label("Annual income (USD)").fill("64000")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    expect(page.locator('[data-field="annual_income"]')).to_have_text("$64,000.00")
    assert page.url == url_before  # edited in place, no navigation

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/login")
    page.goto("/account")
    expect(page).to_have_url("/login?next=/account")
    # Browsers log every non-2xx answer; the 422s above are the intended validation replies.
    unexpected = [text for text in page.console_errors if "status of 422" not in text]
    assert unexpected == []

    user = committed.scalars(select(User).where(User.email == email)).one()
    assert user.city == "Boise" and user.profile_complete
