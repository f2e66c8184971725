"""Trading races on real PostgreSQL: real threads, real commits, one session each.

* 20 buyers race for one note: exactly one buys it; everyone else is told it is sold and
  keeps their cash;
* a seller withdraws while a buyer buys, round after round: each round has one outcome;
* a payment arrives while its note is sold: it pays whoever owned the note at that moment
  (ledger.verify checks every allocation against the ownership history).
"""

import threading
import traceback
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    AccountKind,
    Investment,
    ListingStatus,
    NoteListing,
    NoteTrade,
    ServicingStatus,
)
from app.services.errors import DomainError, TradeConflict
from app.services.money import ledger
from app.services.servicing import repayments
from app.services.trading import listings, market, trades
from tests.builders import issued_loan, key, lender

D = Decimal
pytestmark = pytest.mark.committing
ISSUED = date(2024, 1, 15)
TODAY = date(2024, 2, 1)
JOIN_SECONDS = 60


def _together(*calls):
    """Run each call(session) in its own thread from one barrier; commit what returns, roll
    back a DomainError. Returns each call's result or DomainError."""
    engine = db.engine
    barrier = threading.Barrier(len(calls))
    outcomes, unexpected = [None] * len(calls), []

    def run(index, call):
        try:
            with Session(engine) as session:
                barrier.wait(timeout=JOIN_SECONDS)
                try:
                    outcomes[index] = call(session)
                    session.commit()
                except DomainError as error:
                    session.rollback()
                    outcomes[index] = error
        except BaseException:  # noqa: BLE001 - any other failure is the finding
            unexpected.append(traceback.format_exc())

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == [], "\n".join(unexpected)
    return outcomes


def _buy(buyer_id, listing_id, price):
    def call(session):
        return trades.buy(
            session,
            buyer_id=buyer_id,
            listing_id=listing_id,
            expected_price=price,
            expected_status=ServicingStatus.CURRENT,
            idempotency_key=key(),
            today=TODAY,
        ).id

    return call


def _cash(session, user_id):
    return ledger.balance_of(session, AccountKind.LENDER_CASH, owner_id=user_id)


def test_twenty_buyers_race_for_one_note_and_exactly_one_gets_it(committed):
    loan, notes = issued_loan(["500.00", "9500.00"], issued_on=ISSUED)
    listing = listings.list_note(
        db.session, seller_id=notes[0].lender_id, investment_id=notes[0].id, markup_percent=D("1")
    )
    price = market.offer(db.session, listing.id, TODAY).quote.price
    buyers = [lender(D("1000.00")) for _ in range(20)]
    committed.commit()
    buyer_ids, listing_id, note_id = [b.id for b in buyers], listing.id, notes[0].id

    outcomes = _together(*(_buy(buyer_id, listing_id, price) for buyer_id in buyer_ids))

    won = [
        buyer
        for buyer, outcome in zip(buyer_ids, outcomes, strict=True)
        if isinstance(outcome, int)
    ]
    assert len(won) == 1, outcomes
    lost = [outcome for outcome in outcomes if not isinstance(outcome, int)]
    assert all(isinstance(outcome, TradeConflict) and "sold" in outcome.message for outcome in lost)
    with Session(db.engine) as check:
        assert check.get(Investment, note_id).lender_id == won[0]
        assert check.scalar(select(func.count()).select_from(NoteTrade)) == 1
        for buyer_id in buyer_ids:
            expected = D("1000.00") - (price if buyer_id == won[0] else 0)
            assert _cash(check, buyer_id) == expected
        assert ledger.verify(check) == []


def test_a_seller_withdrawing_while_a_buyer_buys_gives_one_outcome_each_round(committed):
    loan, notes = issued_loan(["25.00"] * 12 + ["9700.00"], issued_on=ISSUED)
    buyer = lender(D("1000.00"))
    rounds = []
    for note in notes[:12]:
        listing = listings.list_note(
            db.session, seller_id=note.lender_id, investment_id=note.id, markup_percent=D("0")
        )
        rounds.append((note.lender_id, listing.id, market.offer(db.session, listing.id, TODAY)))
    committed.commit()
    outcomes = []
    for seller_id, listing_id, shown in rounds:

        def withdraw(session, seller_id=seller_id, listing_id=listing_id):
            return listings.cancel(session, seller_id=seller_id, listing_id=listing_id).id

        bought, cancelled = _together(_buy(buyer.id, listing_id, shown.quote.price), withdraw)
        outcomes.append((bought, cancelled))
        with Session(db.engine) as check:
            status = check.get(NoteListing, listing_id).status
            trades_made = check.scalar(
                select(func.count())
                .select_from(NoteTrade)
                .where(NoteTrade.listing_id == listing_id)
            )
        if isinstance(bought, int):
            assert isinstance(cancelled, TradeConflict) and status is ListingStatus.SOLD
            assert trades_made == 1
        else:
            assert isinstance(bought, TradeConflict) and isinstance(cancelled, int)
            assert status is ListingStatus.CANCELLED and trades_made == 0
    with Session(db.engine) as check:
        assert ledger.verify(check) == []


def test_a_payment_racing_a_sale_pays_whoever_owned_the_note_at_that_moment(committed):
    loan, notes = issued_loan(["1000.00", "9000.00"], issued_on=ISSUED)
    buyers = [lender(D("2000.00")) for _ in range(3)]
    note_id, loan_id, payment = notes[0].id, loan.id, loan.monthly_payment
    seller_id, buyer_ids = notes[0].lender_id, [buyer.id for buyer in buyers]
    committed.commit()
    for day, buyer_id in zip(
        (date(2024, 2, 15), date(2024, 3, 15), date(2024, 4, 15)), buyer_ids, strict=True
    ):
        with Session(db.engine) as session:
            listing = listings.list_note(
                session, seller_id=seller_id, investment_id=note_id, markup_percent=D("0")
            )
            shown = market.offer(session, listing.id, day)
            session.commit()
            listing_id = listing.id

        def pay(session, day=day):
            return repayments.apply_payment(
                session, loan_id, payment, received_on=day, idempotency_key=key()
            ).id

        def buy(session, buyer_id=buyer_id, listing_id=listing_id, shown=shown, day=day):
            return trades.buy(
                session,
                buyer_id=buyer_id,
                listing_id=listing_id,
                expected_price=shown.quote.price,
                expected_status=ServicingStatus.CURRENT,
                idempotency_key=key(),
                today=day,
            ).id

        paid, bought = _together(pay, buy)
        assert isinstance(paid, int), paid
        # The payment may change the price the buyer saw: then the purchase is refused.
        assert isinstance(bought, int) or isinstance(bought, TradeConflict), bought
        with Session(db.engine) as check:
            assert ledger.verify(check) == []
            if not isinstance(bought, int):  # the payment came first: the seller keeps it
                listings.cancel(check, seller_id=seller_id, listing_id=listing_id)
                check.commit()
            seller_id = check.get(Investment, note_id).lender_id
