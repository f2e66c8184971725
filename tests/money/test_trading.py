"""Selling a note to another lender: one balanced entry, the note's future receipts to the
buyer, the past to the seller, and every refusal writes nothing."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AccountKind,
    IdempotencyKey,
    Investment,
    ListingStatus,
    NoteListing,
    NoteTrade,
    PaymentAllocation,
    ServicingStatus,
)
from app.services.errors import DomainError, IdempotencyMismatch, TradeConflict, ValidationFailed
from app.services.money import ledger
from app.services.servicing import repayments, returns, servicing
from app.services.trading import listings, market, trades
from tests.builders import issued_loan, key, lender

D = Decimal
ISSUED = date(2024, 1, 15)
TODAY = date(2024, 3, 27)  # two payments made; 12 days into the third period


def _cash(user_id):
    return ledger.balance_of(db.session, AccountKind.LENDER_CASH, owner_id=user_id)


def _revenue():
    return ledger.kind_balance(db.session, AccountKind.FEE_REVENUE)


@pytest.fixture
def book():
    """A $10,000 loan (one $1,000 note of interest) two payments in, and a buyer with cash."""
    loan, notes = issued_loan(["1000.00", "9000.00"], issued_on=ISSUED)
    for day in (date(2024, 2, 15), date(2024, 3, 15)):
        repayments.apply_payment(
            db.session, loan.id, loan.monthly_payment, received_on=day, idempotency_key=key()
        )
    db.session.flush()
    return loan, notes[0], lender(D("2000.00"))


def _list(note, markup="0"):
    return listings.list_note(
        db.session, seller_id=note.lender_id, investment_id=note.id, markup_percent=D(markup)
    )


def _buy(buyer, listing, price, status=ServicingStatus.CURRENT, idempotency_key=None):
    return trades.buy(
        db.session,
        buyer_id=buyer.id,
        listing_id=listing.id,
        expected_price=price,
        expected_status=status,
        idempotency_key=idempotency_key or key(),
        today=TODAY,
    )


def _shown(listing):
    return market.offer(db.session, listing.id, TODAY)


def test_a_trade_moves_cash_fee_and_ownership_in_one_balanced_entry(book):
    loan, note, buyer = book
    seller_id = note.lender_id
    listing = _list(note, "2.5")
    shown = _shown(listing)
    # The hand-worked price: principal after two payments, plus 12/30 of the third period's
    # interest (10 % of the loan's), all × 1.025.
    principal = note.principal_outstanding
    assert shown.quote.principal == principal
    assert shown.quote.price == ((principal + shown.quote.accrued_interest) * D("1.025")).quantize(
        D("0.01")
    )
    assert shown.quote.accrued_interest > 0
    seller_cash, buyer_cash, revenue = _cash(seller_id), _cash(buyer.id), _revenue()

    trade = _buy(buyer, listing, shown.quote.price)

    assert _cash(buyer.id) == buyer_cash - trade.price
    assert _cash(seller_id) == seller_cash + trade.price - trade.fee
    assert _revenue() == revenue + trade.fee
    assert trade.fee == (trade.price / 100).quantize(D("0.01"))
    assert trade.realised_gain == trade.premium - trade.fee
    assert db.session.get(Investment, note.id).lender_id == buyer.id
    assert db.session.get(NoteListing, listing.id).status is ListingStatus.SOLD
    assert ledger.verify(db.session) == []


def test_after_a_trade_payments_go_to_the_buyer_and_the_past_stays_the_sellers(book):
    loan, note, buyer = book
    seller_id = note.lender_id
    received_before = returns.summary(db.session, seller_id, TODAY).received_interest
    listing = _list(note)
    _buy(buyer, listing, _shown(listing).quote.price)
    repayments.apply_payment(
        db.session,
        loan.id,
        loan.monthly_payment,
        received_on=date(2024, 4, 15),
        idempotency_key=key(),
    )
    paid = db.session.execute(
        select(PaymentAllocation.lender_id, func.count())
        .where(PaymentAllocation.investment_id == note.id)
        .group_by(PaymentAllocation.lender_id)
    ).all()
    assert dict(paid) == {seller_id: 2, buyer.id: 1}
    assert returns.summary(db.session, seller_id, TODAY).received_interest == received_before
    assert returns.summary(db.session, buyer.id, TODAY).received_interest > 0
    assert returns.summary(db.session, seller_id, TODAY).outstanding_principal == 0
    assert ledger.verify(db.session) == []


def _nothing_written(buyer, cash_before):
    assert db.session.scalar(select(func.count()).select_from(NoteTrade)) == 0
    assert _cash(buyer.id) == cash_before
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(IdempotencyKey)
            .where(IdempotencyKey.user_id == buyer.id)
        )
        == 0
    )


def test_a_buyer_shown_an_older_price_or_state_is_refused_and_nothing_is_written(book):
    loan, note, buyer = book
    listing = _list(note)
    price = _shown(listing).quote.price
    cash = _cash(buyer.id)
    with pytest.raises(TradeConflict, match="price is now"):
        _buy(buyer, listing, price - D("0.01"))
    with pytest.raises(TradeConflict, match="you saw in grace period"):
        _buy(buyer, listing, price, status=ServicingStatus.GRACE)
    _nothing_written(buyer, cash)
    assert db.session.get(Investment, note.id).lender_id != buyer.id


def test_no_one_buys_their_own_note_a_sold_note_or_beyond_their_cash(book):
    loan, note, buyer = book
    listing = _list(note)
    price = _shown(listing).quote.price
    seller = db.session.get(Investment, note.id).lender
    with pytest.raises(DomainError, match="your own note"):
        _buy(seller, listing, price)
    poor = lender(D("100.00"))
    with pytest.raises(DomainError, match="you have \\$100.00 available"):
        _buy(poor, listing, price)
    _buy(buyer, listing, price)
    other = lender(D("5000.00"))
    with pytest.raises(TradeConflict, match="no longer for sale \\(sold\\)"):
        _buy(other, listing, price)


def test_the_same_key_twice_buys_once_and_a_different_request_under_it_is_refused(book):
    loan, note, buyer = book
    listing = _list(note)
    price = _shown(listing).quote.price
    first = _buy(buyer, listing, price, idempotency_key="buy-once")
    again = _buy(buyer, listing, price, idempotency_key="buy-once")
    assert again.id == first.id
    with pytest.raises(IdempotencyMismatch):
        _buy(buyer, listing, price + 1, idempotency_key="buy-once")
    assert db.session.scalar(select(func.count()).select_from(NoteTrade)) == 1


def test_listing_rules(book):
    loan, note, buyer = book
    for markup in ("-30.01", "15.01", "1.005"):
        with pytest.raises(ValidationFailed):
            _list(note, markup)
    with pytest.raises(DomainError, match="do not hold"):
        listings.list_note(
            db.session, seller_id=buyer.id, investment_id=note.id, markup_percent=D("0")
        )
    _list(note, "-30")
    with pytest.raises(DomainError, match="already for sale"):
        _list(note, "15")


def test_a_withdrawn_listing_cannot_be_bought_and_a_sold_one_cannot_be_withdrawn(book):
    loan, note, buyer = book
    seller_id = note.lender_id
    first = _list(note)
    price = _shown(first).quote.price
    listings.cancel(db.session, seller_id=seller_id, listing_id=first.id)
    with pytest.raises(TradeConflict, match="withdrawn by the seller"):
        _buy(buyer, first, price)
    second = _list(note)
    _buy(buyer, second, price)
    with pytest.raises(TradeConflict, match="already sold"):
        listings.cancel(db.session, seller_id=seller_id, listing_id=second.id)


def test_a_listing_ends_when_the_loan_worsens_or_is_paid_off(book):
    loan, note, buyer = book
    listing = _list(note)
    price = _shown(listing).quote.price
    # No payment on April 15: by May 1 the loan is 16 days late.
    servicing.run_cycle(db.session, date(2024, 4, 16))
    servicing.run_cycle(db.session, date(2024, 5, 1))
    assert db.session.get(NoteListing, listing.id).status is ListingStatus.ENDED
    assert "worsened" in db.session.get(NoteListing, listing.id).end_reason
    assert market.offer(db.session, listing.id, date(2024, 5, 1)) is None
    with pytest.raises(TradeConflict):
        _buy(buyer, listing, price, status=ServicingStatus.LATE_16_30)


def test_a_resale_realises_the_middle_owners_gain_over_what_they_paid(book):
    loan, note, buyer = book
    first = _list(note, "-10")
    bought = _buy(buyer, first, _shown(first).quote.price)
    assert bought.premium < 0
    second = listings.list_note(
        db.session, seller_id=buyer.id, investment_id=note.id, markup_percent=D("5")
    )
    third = lender(D("3000.00"))
    resold = _buy(third, second, _shown(second).quote.price)
    assert resold.seller_id == buyer.id
    assert resold.seller_cost_premium == bought.premium
    assert resold.realised_gain == resold.premium - resold.fee - bought.premium
    assert resold.seller_held_since == bought.traded_at
    assert ledger.verify(db.session) == []


def test_verify_catches_a_payment_sent_to_someone_who_no_longer_owned_the_note(book):
    loan, note, buyer = book
    listing = _list(note)
    _buy(buyer, listing, _shown(listing).quote.price)
    payment = repayments.apply_payment(
        db.session,
        loan.id,
        loan.monthly_payment,
        received_on=date(2024, 4, 15),
        idempotency_key=key(),
    )
    db.session.execute(
        PaymentAllocation.__table__.update()
        .where(
            PaymentAllocation.payment_id == payment.id, PaymentAllocation.investment_id == note.id
        )
        .values(
            lender_id=select(NoteTrade.seller_id)
            .where(NoteTrade.investment_id == note.id)
            .scalar_subquery()
        )
    )
    problems = ledger.verify(db.session)
    assert any("owned it then" in problem for problem in problems), problems
    assert any("allocations add up to" in problem for problem in problems), problems
    db.session.rollback()


def test_every_lenders_cash_reconciles_with_their_notes_receipts_and_trades():
    """An independent reconstruction of each lender's cash from deposits, notes bought at
    issue, what each payment allocation paid them, and their trades, against the ledger, after
    notes change hands three times between payments."""
    loan, notes = issued_loan(["500.00", "1500.00", "8000.00"], issued_on=ISSUED)
    owners = [lender(D("5000.00")) for _ in range(3)]
    at_issue = {note.id: (note.lender_id, note.amount) for note in notes}
    deposits = {note.lender_id: note.amount for note in notes}
    deposits |= {owner.id: D("5000.00") for owner in owners}
    days = [date(2024, 2, 15), date(2024, 3, 15), date(2024, 4, 15), date(2024, 5, 15)]
    for index, day in enumerate(days):
        repayments.apply_payment(
            db.session, loan.id, loan.monthly_payment, received_on=day, idempotency_key=key()
        )
        if index < 3:
            note = notes[index % 2]
            seller = db.session.get(Investment, note.id).lender_id
            listing = listings.list_note(
                db.session, seller_id=seller, investment_id=note.id, markup_percent=D("3")
            )
            trade_day = day + timedelta(days=9)
            shown = market.offer(db.session, listing.id, trade_day)
            trades.buy(
                db.session,
                buyer_id=owners[index].id,
                listing_id=listing.id,
                expected_price=shown.quote.price,
                expected_status=ServicingStatus.CURRENT,
                idempotency_key=key(),
                today=trade_day,
            )
    received = dict(
        db.session.execute(
            select(
                PaymentAllocation.lender_id,
                func.sum(
                    PaymentAllocation.principal
                    + PaymentAllocation.interest
                    + PaymentAllocation.late_fee
                    - PaymentAllocation.servicing_fee
                ),
            ).group_by(PaymentAllocation.lender_id)
        ).all()
    )
    all_trades = db.session.scalars(select(NoteTrade)).all()
    assert len(all_trades) == 3
    for lender_id, deposited in deposits.items():
        invested = sum((a for owner, a in at_issue.values() if owner == lender_id), D(0))
        sold = sum((t.price - t.fee for t in all_trades if t.seller_id == lender_id), D(0))
        bought = sum((t.price for t in all_trades if t.buyer_id == lender_id), D(0))
        expected = deposited - invested + received.get(lender_id, D(0)) + sold - bought
        assert _cash(lender_id) == expected, lender_id
    assert ledger.verify(db.session) == []


def test_a_payment_after_the_page_loaded_changes_the_price_and_the_purchase_is_refused(book):
    """buy_note prices the note under its locks: a payment between the page and the purchase
    lowers the principal, the price moves, and the buyer is told the new one."""
    loan, note, buyer = book
    listing = _list(note)
    seen = _shown(listing).quote.price
    repayments.apply_payment(
        db.session,
        loan.id,
        loan.monthly_payment,
        received_on=TODAY,
        idempotency_key=key(),
    )
    now = _shown(listing).quote.price
    assert now != seen
    cash = _cash(buyer.id)
    with pytest.raises(TradeConflict, match=f"The price is now \\${now:,.2f} \\(you saw"):
        _buy(buyer, listing, seen)
    _nothing_written(buyer, cash)
