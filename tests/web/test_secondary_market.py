"""The secondary market in the browser's terms (test client): sell with a preview, buy at the
price shown, a changed price refused, both portfolios updated, trades and their CSV."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Investment, ListingStatus, NoteListing, NoteTrade
from app.services.money import cash
from app.services.trading import listings, market
from tests.builders import issued_loan, lender
from tests.helpers import HX

D = Decimal


@pytest.fixture()
def held():
    """A loan issued 40 days ago; its $1,000 note is the seller's."""
    loan, notes = issued_loan(["1000.00", "9000.00"], issued_on=date.today() - timedelta(days=40))
    return loan, notes[0]


def _listed(note, markup="0"):
    listing = listings.list_note(
        db.session, seller_id=note.lender_id, investment_id=note.id, markup_percent=D(markup)
    )
    db.session.flush()
    return listing


def test_a_seller_previews_the_proceeds_then_lists_and_can_withdraw(client, login, held):
    loan, note = held
    login(note.lender)
    page = client.get("/lender/sell")
    assert page.status_code == 200 and f"Sell note #{note.id}".encode() in page.data
    preview = client.post(
        "/lender/sell", data={"markup_percent": "-2.5", "note_ids": [note.id]}, headers=HX
    )
    assert preview.status_code == 200
    quote = listings.preview_slice(
        db.session,
        seller_id=note.lender_id,
        wanted=listings.SliceFilter(note_ids=(note.id,)),
        markup_percent=D("-2.5"),
        as_of=date.today(),
    ).quotes[0][1]
    assert f"${quote.proceeds:,.2f}".encode() in preview.data
    assert db.session.scalar(select(func.count()).select_from(NoteListing)) == 0  # a preview only
    listed = client.post(
        "/lender/sell",
        data={"markup_percent": "-2.5", "note_ids": [note.id], "confirm": "1"},
        headers=HX,
    )
    assert listed.headers.get("HX-Redirect", "").startswith("/lender/sell?listed=1")
    listing = db.session.scalars(select(NoteListing)).one()
    assert listing.markup_percent == D("-2.50") and listing.status is ListingStatus.LISTED
    withdrawn = client.post(f"/lender/listings/{listing.id}/withdraw", headers=HX)
    assert withdrawn.status_code == 200
    db.session.refresh(listing)
    assert listing.status is ListingStatus.CANCELLED


def test_a_markup_outside_the_policy_is_a_field_error_and_lists_nothing(client, login, held):
    loan, note = held
    login(note.lender)
    for markup in ("16", "-31", "abc"):
        answer = client.post(
            "/lender/sell",
            data={"markup_percent": markup, "note_ids": [note.id], "confirm": "1"},
            headers=HX,
        )
        assert answer.status_code == 422, markup
        assert b'class="error"' in answer.data
    assert db.session.scalar(select(func.count()).select_from(NoteListing)) == 0


def test_a_buyer_buys_at_the_price_shown_and_both_portfolios_change(client, login, held):
    loan, note = held
    seller = note.lender
    listing = _listed(note, "1")
    buyer = login(lender(D("2000.00")))
    page = client.get("/lender/secondary")
    shown = market.offer(db.session, listing.id, date.today())
    assert page.status_code == 200
    assert f"Buy for ${shown.quote.price:,.2f}".encode() in page.data
    detail = client.get(f"/lender/secondary/{listing.id}")
    assert detail.status_code == 200 and b"Payment history" in detail.data
    bought = client.post(
        f"/lender/secondary/{listing.id}/buy",
        data={
            "price": str(shown.quote.price),
            "loan_status": "current",
            "idempotency_key": "buy-1",
        },
        headers=HX,
    )
    assert bought.status_code == 200 and b"Bought note" in bought.data
    assert "balance-changed" in bought.headers["HX-Trigger"]
    assert db.session.get(Investment, note.id).lender_id == buyer.id
    assert cash.available_cash(db.session, buyer.id) == D("2000.00") - shown.quote.price
    portfolio = client.get("/lender/portfolio")
    assert f"#{note.id}".encode() in portfolio.data
    trades_page = client.get("/lender/trades")
    assert b"Bought" in trades_page.data
    client.post("/logout")
    login(seller)
    sold = client.get("/lender/trades.csv")
    rows = list(csv.DictReader(io.StringIO(sold.data.decode())))
    trade = db.session.scalars(select(NoteTrade)).one()
    assert (
        rows[0]["side"] == "sold" and D(rows[0]["realised_gain"].lstrip("'")) == trade.realised_gain
    )
    assert D(rows[0]["price"]) == shown.quote.price


def test_a_stale_price_is_refused_with_the_new_one_and_nothing_moves(client, login, held):
    loan, note = held
    listing = _listed(note)
    buyer = login(lender(D("2000.00")))
    shown = market.offer(db.session, listing.id, date.today())
    answer = client.post(
        f"/lender/secondary/{listing.id}/buy",
        data={
            "price": str(shown.quote.price - D("1.00")),
            "loan_status": "current",
            "idempotency_key": "buy-stale",
        },
        headers=HX,
    )
    assert answer.status_code == 409
    assert f"The price is now ${shown.quote.price:,.2f}".encode() in answer.data
    assert cash.available_cash(db.session, buyer.id) == D("2000.00")
    assert db.session.get(Investment, note.id).lender_id != buyer.id


def test_the_market_filters_and_its_own_listing_cannot_be_bought(client, login, held):
    loan, note = held
    _listed(note)
    login(note.lender)
    mine = client.get("/lender/secondary")
    assert b"Your listing" in mine.data and b"Buy for" not in mine.data
    none = client.get("/lender/secondary?grade=E&min_yield=99", headers=HX)
    assert none.status_code == 200 and b"No notes for sale match" in none.data
