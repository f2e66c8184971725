"""Two years of a small book through the real services, reconciled every month.

Lenders deposit, invest and withdraw; listings fill, fill in part or expire; loans issue and
their borrowers behave as borrowers do (on time, early, late, partial, prepaying, paying off,
a cent short, going silent into charge-off, recovering). On the first of every month the
ledger verifies, and two identities hold between the ledger and this test's own tallies:

  lender cash + committed + platform revenue
      = deposits − withdrawals + borrower payments − net disbursed
  notes outstanding + unrecovered charge-offs = loan receivables
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AccountKind,
    Investment,
    InvestmentStatus,
    LedgerAccount,
    Loan,
    LoanStatus,
    Provider,
    ServicingStatus,
)
from app.services.errors import DomainError
from app.services.lending import investing, issuance
from app.services.money import cash, ledger
from app.services.servicing import repayments, servicing, statements
from tests.builders import UNCAPPED, key, lender, listed_loan

D = Decimal
CENT = D("0.01")
START, END = date(2024, 1, 1), date(2025, 12, 31)
BEHAVIOURS = (
    "on_time", "on_time", "early", "late", "partial", "prepays", "pays_off", "cent_short",
    "silent", "silent_recovers",
)  # fmt: skip


@dataclass
class Book:
    rng: random.Random
    lenders: list = field(default_factory=list)
    listings: list = field(default_factory=list)
    loans: dict = field(default_factory=dict)  # loan id -> (loan, behaviour, due dates)
    deposits: Decimal = D(0)
    withdrawals: Decimal = D(0)
    payments: Decimal = D(0)
    net_disbursed: Decimal = D(0)
    counts: Counter = field(default_factory=Counter)


@pytest.mark.committing  # every business day commits, as it does in production
def test_two_years_of_a_book_reconcile_every_month(committed):
    book = Book(random.Random(13))
    for _ in range(12):
        book.lenders.append(lender())
        _deposit(book, book.lenders[-1], D(book.rng.randrange(8_000, 30_000)))
    for today in servicing.business_dates(START, END):
        if today.day == 1:
            _reconcile(book)
        if today < date(2025, 3, 1) and today.weekday() in (0, 3):
            _list_and_fund(book, today)
        stats = servicing.run_cycle(db.session, today)
        book.counts["late fees"] += stats["late_fees"]
        book.counts["charge-offs"] += stats["charged_off"]
        _collect_issued(book)
        statuses = dict(
            db.session.execute(
                select(Loan.id, Loan.servicing_status).where(Loan.id.in_(book.loans))
            ).all()
        )
        for loan_id, status in statuses.items():
            _borrower_acts(book, loan_id, status, today)
        if today.day == 20:
            _lenders_move_cash(book)
        db.session.commit()
    _reconcile(book)
    print(dict(book.counts))  # the book's size, for the issue notes (pytest -s)
    assert book.counts["issued"] >= 40 and book.counts["expired"] >= 3
    assert book.counts["charge-offs"] >= 3 and book.counts["recoveries"] >= 3
    assert book.counts["late fees"] >= 10 and book.counts["paid off"] >= 5


def _deposit(book, who, amount):
    cash.deposit(db.session, who.id, amount, provider=Provider.SIMULATED, idempotency_key=key())
    book.deposits += amount
    book.counts["deposits"] += 1


def _list_and_fund(book, today):
    now = datetime.combine(today, time(9), tzinfo=UTC)
    amount = D(book.rng.randrange(40, 400) * 25)
    rate = book.rng.choice(["6.46", "10.99", "14.47", "19.99", "26.77"])
    term = book.rng.choice([12, 24, 36])
    loan = listed_loan(str(amount), rate=rate, term=term, now=now)
    book.counts["listings"] += 1
    target = book.rng.choice([D(1), D(1), D(1), D("0.8"), D("0.5")])  # full, partial, short
    lenders = book.rng.sample(book.lenders, k=len(book.lenders))
    for who in lenders:
        left = (loan.amount * target - loan.funded_amount) // 25 * 25
        if left < 25:
            break
        note = min(left, D(book.rng.randrange(1, 40) * 25))
        try:
            investing.invest(
                db.session,
                lender_id=who.id,
                loan_id=loan.id,
                amount=note,
                idempotency_key=key(),
                now=now,
                policy=UNCAPPED,
            )
            book.counts["notes"] += 1
        except DomainError:
            continue  # this lender's cash is short today
    db.session.refresh(loan)
    if loan.funded_amount == loan.amount:
        issuance.issue_loan(db.session, loan.id, today=today)
    book.listings.append(loan)


def _collect_issued(book):
    """Listings that issued (now, or at their deadline) join the book; expired ones are counted."""
    for loan in list(book.listings):
        db.session.refresh(loan)
        if loan.status is LoanStatus.LISTED:
            continue
        book.listings.remove(loan)
        if loan.status is LoanStatus.EXPIRED:
            book.counts["expired"] += 1
            continue
        book.counts["issued"] += 1
        book.net_disbursed += loan.amount - loan.origination_fee
        dues = [i.due_date for i in loan.installments]
        book.loans[loan.id] = (loan, book.rng.choice(BEHAVIOURS), dues, book.rng.randrange(3, 9))


def _borrower_acts(book, loan_id, status, today):
    loan, behaviour, dues, month = book.loans[loan_id]
    if status is ServicingStatus.PAID_OFF:
        del book.loans[loan_id]
        book.counts["paid off"] += 1
        return
    if status is ServicingStatus.CHARGED_OFF:
        if behaviour == "silent_recovers" and today.day == 10:
            owed = ledger.balance_of(db.session, AccountKind.LOAN_RECEIVABLE, loan_id=loan.id)
            if owed > 0:
                _pay(book, loan, min(owed, max(CENT, (owed / 10).quantize(CENT))), today)
                book.counts["recoveries"] += 1
        return
    amount = _amount(book, loan, behaviour, dues, month, today)
    if amount:
        _pay(book, loan, amount, today)


def _amount(book, loan, behaviour, dues, month, today):
    """What this borrower pays today, if anything."""
    after = [d for d in dues if d > today - timedelta(days=40)]
    number = dues.index(after[0]) + 1 if after else len(dues)
    quote = repayments.payoff_amount
    if behaviour.startswith("silent") and number > month:
        return None
    if behaviour == "pays_off" and number == month and today == after[0]:
        return quote(db.session, loan, today).total
    if behaviour == "cent_short" and number == month and today == after[0] - timedelta(days=9):
        return quote(db.session, loan, today).total - CENT
    if behaviour == "early" and today + timedelta(days=3) in dues:
        return _capped(loan, loan.monthly_payment, today)
    if behaviour == "late" and today - timedelta(days=20) in dues and number % 3 == 0:
        return _due_now(loan, today)
    if behaviour == "late" and today in dues and number % 3 != 0:
        return _due_now(loan, today)
    if behaviour == "partial" and today in dues:
        share = D("0.6") if number % 3 else D(1)
        return (_due_now(loan, today) * share).quantize(CENT)
    if behaviour == "prepays" and today in dues:
        return _capped(loan, _due_now(loan, today) + D(book.rng.randrange(50, 600)), today)
    if today in dues:
        return _due_now(loan, today)
    return None


def _due_now(loan, today):
    return statements.statement(db.session, loan, today).due_now


def _capped(loan, amount, today):
    return min(amount, repayments.payoff_amount(db.session, loan, today).total)


def _pay(book, loan, amount, today):
    if amount <= 0:
        return
    repayments.apply_payment(db.session, loan.id, amount, received_on=today, idempotency_key=key())
    book.payments += amount
    book.counts["payments"] += 1


def _lenders_move_cash(book):
    for who in book.rng.sample(book.lenders, k=3):
        available = cash.available_cash(db.session, who.id)
        if available > 200 and book.rng.random() < 0.5:
            amount = (available * D(book.rng.randrange(10, 60)) / 100).quantize(CENT)
            cash.withdraw(
                db.session, who.id, amount, provider=Provider.SIMULATED, idempotency_key=key()
            )
            book.withdrawals += amount
            book.counts["withdrawals"] += 1
        else:
            _deposit(book, who, D(book.rng.randrange(500, 5_000)))


def _reconcile(book):
    assert ledger.verify(db.session) == []
    held = sum(
        (
            cash.available_cash(db.session, who.id) + cash.committed_cash(db.session, who.id)
            for who in book.lenders
        ),
        D(0),
    )
    revenue = ledger.balance_of(db.session, AccountKind.FEE_REVENUE)
    assert held + revenue == book.deposits - book.withdrawals + book.payments - book.net_disbursed
    notes = db.session.scalar(
        select(func.coalesce(func.sum(Investment.principal_outstanding), 0)).where(
            Investment.status == InvestmentStatus.ACTIVE
        )
    )
    assert notes + _total(AccountKind.CREDIT_LOSSES) == _total(AccountKind.LOAN_RECEIVABLE)


def _total(kind):
    accounts = db.session.scalars(select(LedgerAccount.id).where(LedgerAccount.kind == kind))
    return sum((ledger.balance(db.session, account) for account in accounts), D(0))
