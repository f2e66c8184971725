"""A Stripe deposit in real Chromium: the lender types a card into the field Stripe.js draws,
Stripe (localstripe, a real HTTP peer serving its own Stripe.js) charges it, and its signed
webhook credits the cash. Declined cards and 3-D Secure take the paths a bank gives them."""

import re
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from app.models import Role
from tests.e2e.conftest import VIEWPORTS, sign_in
from tests.factories import UserFactory
from tests.stripe_peer import cash_of, wait_until

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
