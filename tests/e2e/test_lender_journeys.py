"""Lenders through the live server: 20 racing for the last $1,000 over HTTP, and a browser journey."""

import re
import threading
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.models import Investment, Loan
from app.services.lending import investing
from app.services.money import cash, ledger
from tests.browserless import Browserless
from tests.builders import key, lender, listed_loan
from tests.e2e.conftest import sign_in
from tests.helpers import PASSWORD

pytestmark = pytest.mark.committing


def test_twenty_lenders_race_over_http_and_exactly_ten_win(live_url, committed):
    loan = listed_loan("2000.00")
    investing.invest(
        committed,
        lender_id=lender(Decimal("1000")).id,
        loan_id=loan.id,
        amount=Decimal("1000"),
        idempotency_key=key(),
    )
    racers = [lender(Decimal("100")) for _ in range(20)]
    committed.commit()
    clients = []
    for racer in racers:  # sign in first; the race is the investing
        client = Browserless(live_url)
        assert (
            client.post(
                "/login", {"email": racer.email, "password": PASSWORD}, client.token("/login")
            )
            == 303
        )
        clients.append((client, client.token(f"/lender/loans/{loan.id}")))
    barrier, codes = threading.Barrier(len(clients)), []

    def invest(client, token):
        barrier.wait()
        codes.append(
            client.post(
                f"/lender/loans/{loan.id}/investments",
                {"amount": "100", "idempotency_key": str(uuid.uuid4())},
                token,
                htmx=True,
            )
        )

    threads = [threading.Thread(target=invest, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(codes) == [200] * 10 + [422] * 10
    committed.expire_all()
    assert committed.scalar(select(Loan.funded_amount).where(Loan.id == loan.id)) == Decimal(
        "2000.00"
    )
    assert (
        committed.scalar(
            select(func.count()).select_from(Investment).where(Investment.loan_id == loan.id)
        )
        == 11
    )
    assert ledger.verify(committed) == []


@pytest.mark.parametrize("page", ["desktop", "phone"], indirect=True)
def test_deposit_filter_invest_and_see_the_portfolio(page, committed):
    target = listed_loan("3000.00", rate="13.49", term=36)
    listed_loan("2500.00", rate="7.49", term=60)
    investor = lender()
    committed.commit()
    page.goto("/login")
    page.get_by_label("Email").fill(investor.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url("/lender/")
    page.locator("#cash-forms").get_by_label("Amount (USD)").first.fill("500")
    page.get_by_role("button", name="Deposit").click()
    expect(page.locator('[data-field="available"]')).to_have_text("$500.00")
    page.get_by_role("link", name="Marketplace").click()
    # The filter is an htmx form: change it only once the page (and htmx) has loaded, or a
    # busy machine loses the change event (seen once in CI under load).
    page.wait_for_url(re.compile(r"/lender/loans"), wait_until="load")
    page.get_by_label("Term").select_option("36")
    expect(page).to_have_url(re.compile(r"term=36"))
    expect(page.locator("#listing-rows")).not_to_contain_text("7.49%")
    page.locator("#listing-rows").get_by_role("link").first.click()
    expect(page).to_have_url(f"/lender/loans/{target.id}")
    page.get_by_label("Invest (USD)").fill("75")
    page.get_by_role("button", name="Invest").click()
    expect(page.get_by_text("You invested $75.00")).to_be_visible()
    expect(page.locator('[data-field="funded"]')).to_have_text("$75.00")
    page.get_by_role("link", name="Portfolio").click()
    expect(page.locator("#notes")).to_contain_text(f"#{target.id}")
    expect(page.get_by_text("$425.00").first).to_be_visible()
    assert [text for text in page.console_errors if "status of 422" not in text] == []


def test_a_large_investment_and_a_withdrawal_are_confirmed_before_they_happen(page, committed):
    target = listed_loan("3000.00", rate="13.49", term=36)
    investor = lender(Decimal("1000"))
    committed.commit()
    sign_in(page, investor.email)
    # The marketplace row answers $30 with the server's message, not the browser's popup.
    page.goto("/lender/loans")
    page.get_by_label(f"Amount for loan {target.id}").fill("30")
    page.locator(f"#invest-{target.id}").get_by_role("button", name="Invest").click()
    expect(page.locator(f"#invest-{target.id}")).to_contain_text(
        "Invest in multiples of $25: $30.00 is not a multiple of $25."
    )
    page.goto(f"/lender/loans/{target.id}")
    page.get_by_label("Invest (USD)").fill("600")
    page.get_by_role("button", name="Invest").click()
    step = page.get_by_role("alertdialog", name=f"Invest $600.00 in loan #{target.id}?")
    expect(step).to_contain_text("$400.00")  # the cash left after it
    step.get_by_role("button", name="Invest $600.00").click()
    expect(page.get_by_text("You invested $600.00")).to_be_visible()
    expect(step).to_have_count(0)

    page.goto("/lender/")
    page.locator("#cash-forms").get_by_label("Amount (USD)").last.fill("100")
    page.get_by_role("button", name="Withdraw").click()
    step = page.get_by_role("alertdialog", name="Withdraw $100.00 to your bank?")
    expect(step).to_be_visible()
    page.keyboard.press("Escape")
    expect(step).to_have_count(0)
    committed.expire_all()
    assert cash.available_cash(committed, investor.id) == Decimal("400.00")
    page.get_by_role("button", name="Withdraw").click()
    step.get_by_role("button", name="Withdraw $100.00").click()
    expect(page.locator("#flash")).to_contain_text("$100.00 will be sent to your bank")
    expect(page.locator("#withdrawals")).to_contain_text("Waiting to be sent")
    committed.expire_all()
    assert cash.available_cash(committed, investor.id) == Decimal("300.00")
    assert committed.scalar(select(func.count()).select_from(Investment)) == 1
