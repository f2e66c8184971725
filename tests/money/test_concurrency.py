"""Races on real PostgreSQL with real commits: no overfunding, no overdrawn lender."""

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Investment, Loan
from app.services.errors import DomainError
from app.services.lending import investing
from app.services.money import cash, ledger
from tests.builders import key, lender, listed_loan

D = Decimal
pytestmark = pytest.mark.committing


def _race(attempts):
    """Run each (lender_id, loan_id, amount) in its own thread, session and transaction."""
    engine = db.engine
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def attempt(index, lender_id, loan_id, amount):
        with Session(engine) as session:
            barrier.wait()
            try:
                investing.invest(
                    session,
                    lender_id=lender_id,
                    loan_id=loan_id,
                    amount=amount,
                    idempotency_key=key(),
                )
                session.commit()
                outcomes[index] = "ok"
            except DomainError as error:
                session.rollback()
                outcomes[index] = type(error).__name__

    threads = [threading.Thread(target=attempt, args=(i, *args)) for i, args in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_twenty_lenders_race_for_the_last_thousand_dollars(committed):
    loan = listed_loan("2000.00")
    early = lender(D("1000"))
    investing.invest(
        committed, lender_id=early.id, loan_id=loan.id, amount=D("1000"), idempotency_key=key()
    )
    racers = [lender(D("100")) for _ in range(20)]
    committed.commit()
    outcomes = _race([(racer.id, loan.id, D("100")) for racer in racers])
    assert outcomes.count("ok") == 10
    assert set(outcomes) == {"ok", "ListingClosed"}  # the other ten find it fully funded
    committed.expire_all()
    funded = committed.scalar(select(Loan.funded_amount).where(Loan.id == loan.id))
    invested = committed.scalar(
        select(func.sum(Investment.amount)).where(Investment.loan_id == loan.id)
    )
    assert funded == invested == D("2000.00")
    assert ledger.verify(committed) == []


def test_one_lender_cannot_spend_the_same_cash_twice(committed):
    first, second = listed_loan("1000.00"), listed_loan("1000.00")
    investor = lender(D("150"))
    committed.commit()
    outcomes = _race([(investor.id, first.id, D("100")), (investor.id, second.id, D("100"))])
    assert sorted(outcomes) == ["InsufficientFunds", "ok"]
    committed.expire_all()
    assert cash.available_cash(committed, investor.id) == D("50.00")
    assert ledger.verify(committed) == []


def test_five_concurrent_copies_of_one_deposit_credit_it_once(committed):
    from app.integrations.payments import SimulatedGateway
    from app.models import CashTransfer
    from app.services.money import payments

    person_id = lender().id
    committed.commit()
    engine = db.engine  # the threads have no app context of their own
    barrier = threading.Barrier(5)
    outcomes = [None] * 5

    def attempt(index):
        with Session(engine) as session:
            barrier.wait()
            try:
                payments.deposit(session, SimulatedGateway(), person_id, D("40.00"), key="twice")
                session.commit()
                outcomes[index] = "ok"
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                session.rollback()
                outcomes[index] = type(error).__name__

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == ["ok"] * 5
    with Session(db.engine) as session:
        transfers = session.scalar(
            select(func.count()).select_from(CashTransfer).where(CashTransfer.user_id == person_id)
        )
        assert transfers == 1
        assert cash.available_cash(session, person_id) == D("40.00")
        assert ledger.verify(session) == []
