"""The migration builds exactly the models, and the database refuses what must never happen."""

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.extensions import db
from app.models import (
    AccountKind,
    Investment,
    JournalEntry,
    LedgerAccount,
    NormalSide,
    Posting,
    Role,
)
from app.services.platform.imports import staging
from tests.factories import LoanFactory, UserFactory


def test_migrated_database_matches_the_models_exactly():
    context = MigrationContext.configure(
        db.session.connection(), opts={"include_name": staging.include_in_schema}
    )
    assert compare_metadata(context, db.metadata) == []


def test_money_columns_are_numeric_not_float():
    rows = db.session.execute(
        text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('real', 'double precision')"
        )
    ).all()
    assert rows == []
    amount_type = db.session.execute(
        text(
            "SELECT numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = 'loans' AND column_name = 'amount'"
        )
    ).one()
    assert tuple(amount_type) == (14, 2)


def _violates(statement, params=None):
    with pytest.raises((IntegrityError, DBAPIError)):
        with db.session.begin_nested():
            db.session.execute(statement, params or {})


def test_loan_amount_must_be_positive():
    loan = LoanFactory()
    _violates(text("UPDATE loans SET amount = 0 WHERE id = :id"), {"id": loan.id})


def test_funded_amount_can_never_exceed_the_loan_amount():
    loan = LoanFactory(amount=Decimal("1000.00"))
    _violates(text("UPDATE loans SET funded_amount = 1000.01 WHERE id = :id"), {"id": loan.id})
    db.session.execute(
        text("UPDATE loans SET funded_amount = 1000.00 WHERE id = :id"), {"id": loan.id}
    )


def test_investment_amount_must_be_positive():
    loan = LoanFactory()
    lender = UserFactory(role=Role.LENDER)
    _violates(
        insert(Investment).values(
            loan_id=loan.id, lender_id=lender.id, amount=Decimal("-25.00"), status="committed"
        )
    )


def _accounts(lender_id=None):
    cash = LedgerAccount(
        code=f"lender:{lender_id}:cash",
        kind=AccountKind.LENDER_CASH,
        normal_side=NormalSide.CREDIT,
        owner_id=lender_id,
    )
    clearing = LedgerAccount(
        code=f"clearing:{lender_id}",
        kind=AccountKind.PROCESSOR_CLEARING,
        normal_side=NormalSide.DEBIT,
        allow_negative=True,
    )
    db.session.add_all([cash, clearing])
    db.session.flush()
    return cash, clearing


def _legs(entry, *legs):
    """One INSERT with every leg, as the ledger service writes them."""
    return insert(Posting).values(
        [
            {"entry_id": entry.id, "account_id": account.id, "amount": Decimal(amount)}
            for account, amount in legs
        ]
    )


def _entry():
    entry = JournalEntry(kind="test", memo="test")
    db.session.add(entry)
    db.session.flush()
    return entry


def test_a_balanced_entry_posts_and_moves_running_balances():
    lender = UserFactory(role=Role.LENDER)
    cash, clearing = _accounts(lender.id)
    entry = _entry()
    db.session.execute(_legs(entry, (clearing, "100.00"), (cash, "-100.00")))
    balances = dict(
        db.session.execute(
            select(LedgerAccount.id, LedgerAccount.balance).where(
                LedgerAccount.id.in_([cash.id, clearing.id])
            )
        ).all()
    )
    assert balances == {clearing.id: Decimal("100.00"), cash.id: Decimal("-100.00")}


def test_an_unbalanced_entry_is_refused():
    lender = UserFactory(role=Role.LENDER)
    cash, clearing = _accounts(lender.id)
    entry = _entry()
    _violates(_legs(entry, (clearing, "100.00"), (cash, "-99.99")))


def test_a_zero_posting_is_refused():
    lender = UserFactory(role=Role.LENDER)
    cash, _ = _accounts(lender.id)
    entry = _entry()
    _violates(insert(Posting).values(entry_id=entry.id, account_id=cash.id, amount=0))


def test_lender_cash_can_never_go_below_zero():
    lender = UserFactory(role=Role.LENDER)
    cash, clearing = _accounts(lender.id)
    entry = _entry()
    # Debiting a credit-normal cash account with nothing in it would overdraw it.
    _violates(_legs(entry, (cash, "50.00"), (clearing, "-50.00")))


def test_postings_and_entries_are_append_only():
    lender = UserFactory(role=Role.LENDER)
    cash, clearing = _accounts(lender.id)
    entry = _entry()
    db.session.execute(_legs(entry, (clearing, "10.00"), (cash, "-10.00")))
    _violates(
        text("UPDATE postings SET amount = amount * 2 WHERE entry_id = :id"), {"id": entry.id}
    )
    _violates(text("DELETE FROM postings WHERE entry_id = :id"), {"id": entry.id})
    _violates(text("UPDATE journal_entries SET memo = 'changed' WHERE id = :id"), {"id": entry.id})
    _violates(text("DELETE FROM journal_entries WHERE id = :id"), {"id": entry.id})


def test_an_entry_balances_in_the_statement_that_writes_it():
    """The ledger's statement trigger checks each entry as it is written (migration 0006)."""
    lender = UserFactory(role=Role.LENDER)
    cash, clearing = _accounts(lender.id)
    entry = _entry()
    _violates(_legs(entry, (clearing, "100.00")))  # half an entry, even if the rest follows


def test_one_statement_moves_each_balance_once_for_many_entries():
    lender = UserFactory(role=Role.LENDER)
    cash, clearing = _accounts(lender.id)
    first, second = _entry(), _entry()
    db.session.execute(
        insert(Posting).values(
            [
                {"entry_id": entry.id, "account_id": account.id, "amount": Decimal(amount)}
                for entry in (first, second)
                for account, amount in ((clearing, "30.00"), (cash, "-30.00"))
            ]
        )
    )
    db.session.refresh(cash)
    assert cash.balance == Decimal("-60.00")
