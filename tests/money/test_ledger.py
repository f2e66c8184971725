"""The ledger: balanced entries only, no overdrafts, corrections by reversal, verify()."""

from decimal import Decimal

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import AccountKind, CashTransfer, JournalEntry, Provider
from app.services.errors import InsufficientFunds, LedgerError, ValidationFailed
from app.services.money import cash, ledger
from tests.builders import assert_ledger_balances, key, lender

D = Decimal


def _pair(owner_id):
    return (
        ledger.account(db.session, AccountKind.PROCESSOR_CLEARING),
        ledger.account(db.session, AccountKind.LENDER_CASH, owner_id=owner_id),
    )


def test_deposit_posts_a_balanced_entry_and_moves_balances():
    user = lender(D("250.00"))
    assert cash.available_cash(db.session, user.id) == D("250.00")
    assert ledger.total_postings(db.session) == 0
    assert_ledger_balances()


def test_deposit_with_the_same_provider_reference_counts_once():
    user = lender()
    for _ in range(2):
        cash.deposit(
            db.session, user.id, D("100.00"), provider=Provider.STRIPE, provider_ref="pi_1"
        )
    assert cash.available_cash(db.session, user.id) == D("100.00")
    assert len(db.session.scalars(select(CashTransfer)).all()) == 1


def test_unbalanced_or_malformed_entries_are_refused():
    user = lender()
    clearing, account = _pair(user.id)
    with pytest.raises(LedgerError, match="does not balance"):
        ledger.post(
            db.session,
            "bad",
            "bad",
            [ledger.debit(clearing, D("10.00")), ledger.credit(account, D("9.99"))],
        )
    with pytest.raises(LedgerError, match="two non-zero legs"):
        ledger.post(db.session, "bad", "bad", [ledger.debit(clearing, D("10.00"))])
    with pytest.raises(LedgerError, match="whole-cent"):
        ledger.post(
            db.session,
            "bad",
            "bad",
            [ledger.debit(clearing, D("0.001")), ledger.credit(account, D("0.001"))],
        )
    with pytest.raises(LedgerError, match="whole-cent"):
        ledger.post(
            db.session, "bad", "bad", [ledger.Leg(clearing.id, 1.5), ledger.Leg(account.id, -1.5)]
        )
    assert db.session.scalars(select(JournalEntry)).all() == []


def test_overdrawing_lender_cash_is_refused_by_the_database():
    user = lender(D("50.00"))
    clearing, account = _pair(user.id)
    with pytest.raises(InsufficientFunds):
        ledger.post(
            db.session,
            "withdrawal",
            "too much",
            [ledger.debit(account, D("50.01")), ledger.credit(clearing, D("50.01"))],
        )
    assert cash.available_cash(db.session, user.id) == D("50.00")
    assert_ledger_balances()


def test_withdrawal_is_limited_to_available_cash_and_idempotent():
    user = lender(D("100.00"))
    request_key = key()
    first = cash.withdraw(
        db.session, user.id, D("60.00"), provider=Provider.SIMULATED, idempotency_key=request_key
    )
    again = cash.withdraw(
        db.session, user.id, D("60.00"), provider=Provider.SIMULATED, idempotency_key=request_key
    )
    assert again.id == first.id
    assert cash.available_cash(db.session, user.id) == D("40.00")
    with pytest.raises(InsufficientFunds, match="at most \\$40.00"):
        cash.withdraw(
            db.session, user.id, D("40.01"), provider=Provider.SIMULATED, idempotency_key=key()
        )
    assert_ledger_balances()


@pytest.mark.parametrize("amount", [D("0"), D("-5"), D("10.001")])
def test_bad_transfer_amounts_are_refused(amount):
    user = lender()
    with pytest.raises(ValidationFailed):
        cash.deposit(db.session, user.id, amount, provider=Provider.SIMULATED)


def test_a_correction_is_a_reversing_entry():
    user = lender(D("80.00"))
    entry = db.session.scalars(select(JournalEntry).where(JournalEntry.kind == "deposit")).one()
    reversal = ledger.reverse(db.session, entry.id, "deposit bounced")
    assert reversal.reverses_entry_id == entry.id
    assert sorted(p.amount for p in reversal.postings) == sorted(-p.amount for p in entry.postings)
    assert cash.available_cash(db.session, user.id) == D("0.00")
    assert_ledger_balances()


def test_verify_notices_a_tampered_balance():
    user = lender(D("20.00"))
    db.session.execute(
        text("UPDATE ledger_accounts SET balance = balance - 5 WHERE owner_id = :id"),
        {"id": user.id},
    )
    problems = ledger.verify(db.session)
    assert any("postings sum to" in problem for problem in problems)
    db.session.execute(
        text("UPDATE ledger_accounts SET balance = balance + 5 WHERE owner_id = :id"),
        {"id": user.id},
    )


def test_account_ids_finds_and_opens_accounts_as_account_does_in_one_call():
    someone = lender()
    existing = ledger.account(db.session, AccountKind.FEE_REVENUE)
    wanted = [
        (AccountKind.FEE_REVENUE, {}),
        (AccountKind.LENDER_CASH, {"owner_id": someone.id}),
        (AccountKind.BORROWER_PAYABLE, {"owner_id": someone.id}),
        (AccountKind.FEE_REVENUE, {}),
    ]
    ids = ledger.account_ids(db.session, *wanted)
    assert ids[0] == ids[3] == existing.id
    assert ids == [ledger.account(db.session, kind, **owner).id for kind, owner in wanted]
    payable = db.session.get(type(existing), ids[2])
    assert (payable.kind, payable.owner_id, payable.code) == (
        AccountKind.BORROWER_PAYABLE,
        someone.id,
        f"borrower:{someone.id}:payable",
    )
    assert payable.normal_side == ledger.ACCOUNT_RULES[AccountKind.BORROWER_PAYABLE][0]
    assert ledger.account_ids(db.session, *wanted) == ids  # the second call opens nothing
