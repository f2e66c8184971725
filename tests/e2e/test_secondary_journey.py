"""The secondary market in real Chromium, at desktop and phone width: a seller previews and
lists a note, a buyer finds it and buys it, and both portfolios show the change."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import Investment, NoteTrade
from app.services.money import cash, ledger
from tests.builders import issued_loan, lender
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.committing


@pytest.mark.parametrize("page", ["desktop", "phone"], indirect=True)
def test_list_a_note_then_another_lender_buys_it(page, committed):
    loan, notes = issued_loan(["1000.00", "9000.00"], issued_on=date.today() - timedelta(days=45))
    note, seller = notes[0], notes[0].lender
    buyer = lender(Decimal("2500.00"))
    committed.commit()
    note_id, seller_email, buyer_id, buyer_email = note.id, seller.email, buyer.id, buyer.email

    sign_in(page, seller_email)
    page.goto("/lender/portfolio")
    page.get_by_role("link", name="Sell notes").click()
    page.wait_for_url(re.compile(r"/lender/sell"), wait_until="load")
    page.get_by_label(f"Sell note #{note_id}").check()
    page.get_by_label("Markup (%; negative for a discount)").fill("-1")
    page.get_by_role("button", name="Preview proceeds").click()
    expect(page.locator("#preview")).to_contain_text("You receive")
    page.get_by_role("button", name="List 1 note for sale").click()
    expect(page.get_by_text("Listed 1 note for sale.")).to_be_visible()
    expect(page.locator("#my-listings")).to_contain_text(f"#{note_id}")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, buyer_email)
    page.get_by_role("link", name="Secondary market").click()
    page.wait_for_url(re.compile(r"/lender/secondary"), wait_until="load")
    row = page.locator("#offers tbody tr").first
    expect(row).to_contain_text(f"#{loan.id}")
    price_text = row.locator('[data-field="price"]').inner_text()
    row.get_by_role("button", name=re.compile(r"^Buy for")).click()
    expect(page.get_by_text(f"Bought note #{note_id}")).to_be_visible()
    page.get_by_role("link", name="Portfolio", exact=True).first.click()
    expect(page.locator("#notes")).to_contain_text(f"#{note_id}")
    price = Decimal(price_text.replace("$", "").replace(",", ""))
    committed.expire_all()
    assert committed.get(Investment, note_id).lender_id == buyer_id
    assert cash.available_cash(committed, buyer_id) == Decimal("2500.00") - price
    trade = committed.scalars(select(NoteTrade)).one()
    assert trade.price == price
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, seller_email)
    page.goto("/lender/trades")
    expect(page.locator("tbody")).to_contain_text("Sold")
    expect(page.locator("tbody")).to_contain_text(
        f"${trade.realised_gain:,.2f}".replace("$-", "-$")
    )
    assert ledger.verify(committed) == []
    assert [text for text in page.console_errors if "status of 4" not in text] == []
