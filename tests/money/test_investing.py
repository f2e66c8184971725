"""Investing in listed loans: multiples of $25, caps, cash, idempotency, listing state."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select, text

from app.extensions import db
from app.models import Investment, InvestmentStatus, OutboxMessage
from app.services.errors import (
    DomainError,
    IdempotencyMismatch,
    InsufficientFunds,
    ListingClosed,
    ValidationFailed,
)
from app.services.lending import investing
from app.services.money import cash
from app.services.policy import LendingPolicy
from tests.builders import assert_ledger_balances, key, lender, listed_loan

D = Decimal


def _invest(user, loan, amount, request_key=None, **kwargs):
    return investing.invest(
        db.session,
        lender_id=user.id,
        loan_id=loan.id,
        amount=D(amount),
        idempotency_key=request_key or key(),
        **kwargs,
    )


def test_invest_moves_cash_to_committed_and_funds_the_loan():
    user, loan = lender(D("500")), listed_loan("1000.00")
    note = _invest(user, loan, "100")
    assert note.status is InvestmentStatus.COMMITTED
    db.session.refresh(loan)
    assert loan.funded_amount == D("100.00")
    assert cash.available_cash(db.session, user.id) == D("400.00")
    assert cash.committed_cash(db.session, user.id) == D("100.00")
    assert_ledger_balances()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("30", "not a multiple of $25"),
        ("10", "not a multiple of $25"),
        ("0", "Enter an amount"),
    ],
)
def test_amounts_must_be_multiples_of_25(amount, message):
    user, loan = lender(D("500")), listed_loan("1000.00")
    with pytest.raises(ValidationFailed) as error:
        _invest(user, loan, amount)
    assert message in error.value.errors["amount"]


def test_more_than_is_left_is_refused_with_what_is_left():
    big, small = lender(D("2000")), lender(D("500"))
    loan = listed_loan("1000.00")
    _invest(big, loan, "925")
    with pytest.raises(DomainError, match=r"Only \$75.00 left"):
        _invest(small, loan, "100")
    db.session.refresh(loan)
    assert loan.funded_amount == D("925.00")
    assert cash.available_cash(db.session, small.id) == D("500.00")
    assert_ledger_balances()


def test_insufficient_cash_changes_nothing():
    user, loan = lender(D("50")), listed_loan("1000.00")
    with pytest.raises(InsufficientFunds, match="Insufficient cash"):
        _invest(user, loan, "75")
    db.session.refresh(loan)
    assert loan.funded_amount == D("0.00")
    assert db.session.scalars(select(Investment)).all() == []
    assert_ledger_balances()


def test_per_loan_cap_counts_what_the_lender_already_holds():
    user, loan = lender(D("1000")), listed_loan("5000.00")
    policy = LendingPolicy(max_investment_per_loan=D("200.00"))
    _invest(user, loan, "150", policy=policy)
    with pytest.raises(DomainError, match=r"add \$50.00 more"):
        _invest(user, loan, "75", policy=policy)
    _invest(user, loan, "50", policy=policy)


def test_the_same_key_twice_has_one_effect():
    user, loan = lender(D("500")), listed_loan("1000.00")
    request_key = key()
    first = _invest(user, loan, "100", request_key)
    second = _invest(user, loan, "100", request_key)
    assert first.id == second.id
    assert cash.available_cash(db.session, user.id) == D("400.00")
    with pytest.raises(IdempotencyMismatch):
        _invest(user, loan, "200", request_key)
    assert_ledger_balances()


def test_closed_or_unlisted_loans_take_no_money():
    user = lender(D("500"))
    expired = listed_loan("1000.00", now=datetime.now(UTC) - timedelta(days=15))
    with pytest.raises(ListingClosed, match="closed"):
        _invest(user, expired, "25")
    full = listed_loan("100.00")
    _invest(lender(D("100")), full, "100")
    with pytest.raises(ListingClosed, match="fully funded"):
        _invest(user, full, "25")


def test_borrowers_cannot_invest():
    loan = listed_loan("1000.00")
    with pytest.raises(DomainError, match="Only lenders"):
        investing.invest(
            db.session,
            lender_id=loan.borrower_id,
            loan_id=loan.id,
            amount=D("25"),
            idempotency_key=key(),
        )


def test_the_last_note_queues_issuance():
    user, loan = lender(D("1000")), listed_loan("500.00")
    _invest(user, loan, "500")
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "issue_loan")
    ).one()
    assert message.payload == {"loan_id": loan.id}


def test_an_investment_is_one_round_trip_and_a_refusal_writes_nothing():
    """One statement before the COMMIT (issue 14: every round trip while the loan row is held
    queues the next investor); a refusal adds only the reads that explain it, and leaves no row
    behind. (That the loan row is requested last: tests/money/test_investing_races.py.)"""
    user, loan = lender(D("100")), listed_loan("1000.00")
    db.session.flush()
    statements = []
    connection = db.session.connection()
    event.listen(connection, "before_cursor_execute", _record(statements))
    try:
        note = _invest(user, loan, "50")
        placed = list(statements)
        statements.clear()
        before = _row_counts()
        with pytest.raises(InsufficientFunds):
            _invest(user, loan, "75")
        refused = list(statements)
        assert _row_counts() == before
    finally:
        event.remove(connection, "before_cursor_execute", _record(statements))
    assert len(placed) == 1 and "place_note(" in placed[0]
    assert not any(_tables_written(statement) for statement in refused)
    assert note.amount == D("50") and db.session.get(Investment, note.id) is note
    assert cash.available_cash(db.session, user.id) == D("50")


def test_a_loan_that_cannot_take_the_note_undoes_what_was_written_before_it():
    """The note, its key, ledger entry and audit row are written before the loan is reserved;
    when the reservation fails they are rolled back, and the same key works afterwards."""
    user, loan = lender(D("1000")), listed_loan("100.00")
    _invest(user, loan, "75")
    before = _row_counts()
    balances = cash.available_cash(db.session, user.id)
    with pytest.raises(DomainError, match=r"Only \$25.00 left"):
        _invest(user, loan, "50", request_key="second-try")
    assert _row_counts() == before
    assert cash.available_cash(db.session, user.id) == balances
    with pytest.raises(ListingClosed):
        _invest(user, SimpleNamespace(id=loan.id + 1000), "25", request_key="no-such-loan")
    assert _row_counts() == before
    assert _invest(user, loan, "25", request_key="second-try").amount == D("25")
    assert_ledger_balances()


def _tables_written(statement: str) -> list[str]:
    return sorted(set(re.findall(r"(?:UPDATE|INSERT INTO)\s+(\w+)", statement)))


_recorders: dict = {}


def _record(statements: list):
    """One listener per list, so it can be removed again."""

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT SA_", "RELEASE SAVEPOINT SA_")):
            statements.append(statement.strip())

    return _recorders.setdefault(id(statements), record)


def _row_counts() -> tuple:
    tables = ("investments", "journal_entries", "postings", "idempotency_keys", "activity_logs")
    return tuple(
        db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in tables
    )
