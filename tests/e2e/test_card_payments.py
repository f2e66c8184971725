"""A Stripe deposit in real Chromium: the lender types a card into the field Stripe.js draws,
Stripe (localstripe, a real HTTP peer serving its own Stripe.js) charges it, and its signed
webhook credits the cash. Declined cards and 3-D Secure take the paths a bank gives them."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from app.integrations.stripe_gateway import StripeGateway
from app.models import Role, ScheduledPayment, ScheduledPaymentStatus
from app.services.money import ledger
from app.services.policy import DEFAULT_POLICY
from app.services.servicing import scheduled_payments, servicing
from tests.builders import issued_loan
from tests.e2e.conftest import VIEWPORTS, sign_in
from tests.factories import UserFactory
from tests.stripe_peer import STRIPE_KEY, cash_of, committed_value, wait_until

pytestmark = pytest.mark.committing
CARD_PAGE = re.compile(r"/card/pi_\w+$")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture()
def lender_page(browser, stripe_app, committed, request):
    lender = UserFactory(role=Role.LENDER)
    committed.commit()
    viewport = VIEWPORTS[getattr(request, "param", "desktop")]
    context = browser.new_context(base_url=stripe_app.live, viewport=viewport)
    page = context.new_page()
    sign_in(page, lender.email)
    page.lender = lender
    yield page
    context.close()


def _start_deposit(page, amount: str):
    page.goto("/lender/")
    page.locator("#cash-forms").get_by_label("Amount (USD)").first.fill(amount)
    with page.expect_response(CARD_PAGE) as answer:
        page.get_by_role("button", name="Deposit").click()
    expect(page).to_have_url(CARD_PAGE)
    page.wait_for_load_state("networkidle")
    return answer.value


def _type_card(page, number: str) -> None:
    """localstripe's Stripe.js draws plain inputs where Stripe's draws its iframe."""
    field = page.locator("#card-element")
    for placeholder, value in [
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "30"),
        ("cvc", "123"),
        ("postal_code", "94110"),
    ]:
        field.get_by_placeholder(placeholder, exact=True).fill(value)


@pytest.mark.parametrize("lender_page", ["desktop", "phone"], indirect=True)
def test_a_lender_deposits_by_card_and_is_credited_when_stripe_confirms(lender_page, stripe_app):
    page = lender_page
    card_page = _start_deposit(page, "250")
    # Only this page lets Stripe.js in: its script and the API it sends the card to.
    policy = card_page.headers["content-security-policy"]
    assert f"script-src 'self' {stripe_app.api}" in policy
    assert f"connect-src 'self' {stripe_app.api}" in policy
    assert cash_of(page.lender.id) == 0
    expect(page.get_by_role("heading", name="Deposit of $250.00")).to_be_visible()
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The card field's inputs are localstripe's stand-ins for Stripe's labelled iframe.
    found = Axe().run(
        page,
        context={"exclude": [["#card-element input"]]},
        options={"runOnly": {"type": "tag", "values": WCAG_AA}},
    )
    serious = [
        v["id"] for v in found.response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert serious == []

    _type_card(page, "4242424242424242")
    page.get_by_role("button", name="Pay $250.00").click()
    expect(page).to_have_url("/lender/")
    expect(page.get_by_text("Card accepted")).to_be_visible()
    assert wait_until(lambda: cash_of(page.lender.id) == Decimal("250.00"))
    page.reload()
    expect(page.locator('[data-field="available"]')).to_have_text("$250.00")
    (intent,) = stripe_app.client.v1.payment_intents.list().data
    assert intent.status == "succeeded" and intent.amount == 25000


def test_a_declined_card_says_so_and_moves_no_money(lender_page, stripe_app):
    page = lender_page
    _start_deposit(page, "80")
    _type_card(page, "4000000000000341")  # Stripe's "charge is declined" test card
    page.get_by_role("button", name="Pay $80.00").click()
    expect(page.get_by_role("alert").filter(has_text="declined")).to_be_visible()
    expect(page).to_have_url(CARD_PAGE)
    (intent,) = stripe_app.client.v1.payment_intents.list().data
    assert intent.status == "requires_payment_method"
    assert not wait_until(lambda: cash_of(page.lender.id) != 0, seconds=3)


def test_a_card_needing_3d_secure_is_charged_once_the_bank_says_yes(lender_page, stripe_app):
    page = lender_page
    _start_deposit(page, "120")
    _type_card(page, "4000002500003155")  # Stripe's "requires authentication" test card
    page.get_by_role("button", name="Pay $120.00").click()
    expect(page.get_by_role("heading", name="Your bank wants to confirm it is you")).to_be_visible()
    page.get_by_role("button", name="Complete authentication").click()  # the bank's step
    expect(page).to_have_url("/lender/")
    assert wait_until(lambda: cash_of(page.lender.id) == Decimal("120.00"))


# --- a card saved for scheduled payments and autopay ----------------------------------------


@pytest.fixture()
def borrower_page(browser, stripe_app, committed):
    loan, _ = issued_loan(["3000"], issued_on=date.today().replace(day=1))
    committed.commit()
    context = browser.new_context(base_url=stripe_app.live, viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    sign_in(page, loan.borrower.email)
    page.loan = loan
    yield page
    context.close()


def _save_card(page, number: str) -> None:
    page.goto(f"/borrower/loans/{page.loan.id}")
    page.get_by_role("button", name="Save a card").click()
    expect(page).to_have_url(re.compile(r"/card/setup/seti_\w+"))
    page.wait_for_load_state("networkidle")
    _type_card(page, number)
    page.get_by_role("button", name="Save card").click()
    expect(page).to_have_url(f"/borrower/loans/{page.loan.id}")


def _collect_on(committed, stripe_app, loan, amount: str) -> ScheduledPayment:
    """Schedule a payment, then run the daily cycle on its date through Stripe, in this process
    (the live server gets Stripe's webhook for the charge)."""
    day = date.today() + timedelta(days=5)
    planned = scheduled_payments.schedule(
        committed, loan, Decimal(amount), day, payer_id=loan.borrower_id, key="e2e",
        today=date.today(),
    )  # fmt: skip
    committed.commit()
    gateway = StripeGateway(STRIPE_KEY, stripe_app.api)
    servicing.run_cycle(committed, day, DEFAULT_POLICY, gateway=gateway)
    committed.commit()
    return committed.get(ScheduledPayment, planned.id)


def test_a_saved_card_pays_a_scheduled_payment_once_though_stripe_also_calls(
    borrower_page, stripe_app, committed
):
    page = borrower_page
    _save_card(page, "4242424242424242")
    expect(page.get_by_text("Visa ending 4242 is saved")).to_be_visible()
    expect(page.locator('[data-field="saved-card"]')).to_have_text("Visa ending 4242")
    planned = _collect_on(committed, stripe_app, page.loan, "140.00")
    assert planned.status is ScheduledPaymentStatus.COLLECTED
    (intent,) = stripe_app.client.v1.payment_intents.list().data
    assert (intent.status, intent.amount) == ("succeeded", 14000)
    # Stripe's payment_intent.succeeded reaches the live server and finds the payment applied.
    assert wait_until(lambda: committed_value(
        "SELECT count(*) FROM provider_events WHERE processed_at IS NOT NULL") == 1)  # fmt: skip
    assert committed_value("SELECT count(*) FROM provider_events WHERE failure IS NOT NULL") == 0
    assert (
        committed_value("SELECT count(*) FROM payments WHERE loan_id = :loan", loan=page.loan.id)
        == 1
    )
    committed.expire_all()
    assert ledger.verify(committed) == []


def test_a_saved_card_the_bank_declines_is_tried_again_and_the_borrower_hears(
    borrower_page, stripe_app, committed
):
    page = borrower_page
    _save_card(page, "4000000000000341")  # saves, then every charge is declined
    planned = _collect_on(committed, stripe_app, page.loan, "140.00")
    assert planned.status is ScheduledPaymentStatus.SCHEDULED and planned.attempts == 1
    assert "declined" in planned.last_error.lower()
    assert planned.next_attempt_on == planned.pay_on + timedelta(days=3)
    assert (
        committed_value("SELECT count(*) FROM notifications WHERE kind = 'payment.scheduled_retry'")
        == 1
    )
    assert committed_value("SELECT count(*) FROM payments") == 0
