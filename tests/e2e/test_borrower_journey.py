"""A borrower registers, completes the profile, applies with the live preview, sees the offer,
accepts it and uploads a document, in Chromium against the live server."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.models import Payment, User
from tests.builders import issued_loan
from tests.e2e.conftest import mailed_link, sign_in

PASSWORD = "violet anchor harvest 27"
pytestmark = pytest.mark.committing
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _register(page, mailbox, email):
    page.goto("/register?role=borrower")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Journey")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    page.goto(mailed_link(mailbox, email, "/register/confirm"))
    expect(page).to_have_url("/account")


def _complete_profile(page):
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Phone").fill("+1 555 0123")
    page.get_by_label("Date of birth").fill("1987-03-09")
    page.get_by_label("Address", exact=True).fill("8 Lake Street")
    page.get_by_label("City").fill("Madison")
    page.get_by_label("State").fill("WI")
    page.get_by_label("Postal code").fill("53703")
    page.get_by_label("Annual income (USD)").fill("91000")
    page.get_by_label("Employment status").select_option("employed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()


@pytest.mark.parametrize("page", ["desktop", "phone"], indirect=True)
def test_apply_see_the_offer_accept_and_upload(page, committed, live_mailbox):
    _register(page, live_mailbox, f"borrower-{uuid.uuid4().hex[:8]}@example.com")
    _complete_profile(page)
    page.goto("/borrower/applications/new")
    page.get_by_label("Amount to borrow (USD)").fill("9000")
    page.get_by_label("Term").select_option("36")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("/ month")
    expect(preview).to_contain_text("(example)")
    page.get_by_label("Credit score").fill("990")
    page.get_by_label("Credit score").blur()
    expect(page.get_by_text("Enter a credit score from 300 to 850.")).to_be_visible()
    facts = {
        "Credit score": "745",
        "Monthly debt payments (USD)": "650",
        "Months since your first credit account": "150",
        "Credit card balances (USD)": "2500",
        "Credit utilisation (%)": "22",
        "Credit inquiries in the last 6 months": "0",
        "Payments 30+ days late in the last 2 years": "0",
        "Public records (bankruptcies, judgments)": "0",
    }
    for label, value in facts.items():
        page.get_by_label(label, exact=True).fill(value)
    expect(page.get_by_text("Enter a credit score from 300 to 850.")).to_have_count(0)
    expect(preview).to_contain_text("estimated grade")
    page.get_by_role("button", name="Submit application").click()
    expect(page.get_by_text("Your offer")).to_be_visible(timeout=15000)  # scored by the job
    expect(page.locator("#application-status")).to_have_text("offered")  # not "submitted"
    expect(page.locator("#application-status")).to_have_count(1)
    expect(page.get_by_text("APR (with fee)")).to_be_visible()
    page.get_by_role("button", name="Accept this offer").click()
    step = page.get_by_role("alertdialog", name="Accept the offer for $9,000.00?")
    expect(step).to_contain_text("You receive")
    step.get_by_role("button", name="Accept this offer").click()
    expect(page.get_by_text("You accepted this offer")).to_be_visible()
    page.get_by_role("link", name="Upload documents").click()
    page.get_by_label("Document").select_option("identity")
    page.get_by_label("File").set_input_files(
        {"name": "passport.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Document uploaded.")).to_be_visible()
    expect(page.get_by_role("link", name="passport.pdf")).to_be_visible()
    unexpected = [text for text in page.console_errors if "status of 422" not in text]
    assert unexpected == []


@pytest.mark.parametrize("page", ["desktop", "phone"], indirect=True)
def test_a_payment_shows_its_amount_and_is_collected_once_confirmed(page, committed):
    loan, _ = issued_loan(["1000.00"], issued_on=date.today() - timedelta(days=40))
    borrower = committed.get(User, loan.borrower_id)
    committed.commit()
    sign_in(page, borrower.email)
    page.goto(f"/borrower/loans/{loan.id}")
    page.get_by_label("Another amount").check()
    page.get_by_label("Amount (USD)").fill("50")
    page.get_by_role("button", name="Pay now").click()
    step = page.get_by_role("alertdialog", name=f"Pay $50.00 towards loan #{loan.id}?")
    expect(step).to_contain_text("overdue amounts first")
    step.get_by_role("button", name="Go back").click()
    assert committed.scalar(select(func.count()).select_from(Payment)) == 0
    page.get_by_role("button", name="Pay now").click()
    step.get_by_role("button", name="Pay $50.00").click()
    expect(page.locator("#flash")).to_contain_text("$50.00")
    committed.expire_all()
    assert committed.scalars(select(Payment.amount)).all() == [Decimal("50.00")]
