"""Issuing funded loans, partial issues, and expiry with refunds."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import (
    AccountKind,
    Installment,
    InvestmentStatus,
    JournalEntry,
    LoanStatus,
    ServicingStatus,
)
from app.services.lending import investing, issuance
from app.services.money import cash, ledger
from tests.builders import assert_ledger_balances, issued_loan, key, lender, listed_loan

D = Decimal


def test_issue_creates_the_schedule_activates_notes_and_disburses_net_of_fee():
    loan, notes = issued_loan(["2500", "7500"], issued_on=date(2024, 1, 15))
    assert loan.status is LoanStatus.ISSUED and loan.servicing_status is ServicingStatus.CURRENT
    installments = db.session.scalars(
        select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.number)
    ).all()
    assert len(installments) == 36
    assert installments[0].due_date == date(2024, 2, 15)
    assert (installments[0].interest_due, installments[0].principal_due) == (
        D("91.58"),
        D("235.76"),
    )
    assert installments[-1].principal_due + installments[-1].interest_due == D(
        "327.11"
    )  # payment up, interest down: the last is never larger
    assert all(
        n.status is InvestmentStatus.ACTIVE and n.principal_outstanding == n.amount for n in notes
    )
    assert loan.origination_fee == D("500.00") and loan.apr == D("14.57")
    assert ledger.balance_of(db.session, AccountKind.LOAN_RECEIVABLE, loan_id=loan.id) == D(
        "10000.00"
    )
    assert ledger.balance_of(db.session, AccountKind.FEE_REVENUE) == D("500.00")
    assert (
        ledger.balance_of(db.session, AccountKind.BORROWER_PAYABLE, owner_id=loan.borrower_id) == 0
    )
    assert ledger.balance_of(db.session, AccountKind.PROCESSOR_CLEARING) == D("500.00")
    assert cash.committed_cash(db.session, notes[0].lender_id) == 0
    assert_ledger_balances()


def test_issuing_twice_changes_nothing():
    loan, _ = issued_loan(["1000"])
    entries = len(db.session.scalars(select(JournalEntry)).all())
    issuance.issue_loan(db.session, loan.id, today=date(2024, 1, 16))
    assert len(db.session.scalars(select(JournalEntry)).all()) == entries


def test_expiring_listing_at_70_percent_issues_the_funded_amount():
    now = datetime.now(UTC)
    loan = listed_loan("10000.00", now=now - timedelta(days=15))
    funder = lender(D("7200"))
    investing.invest(
        db.session,
        lender_id=funder.id,
        loan_id=loan.id,
        amount=D("7200"),
        idempotency_key=key(),
        now=now - timedelta(days=14, hours=1),
        policy=issuance_policy(),
    )
    counts = issuance.expire_listings(db.session, now=now)
    assert counts == {"issued": 1, "expired": 0}
    db.session.refresh(loan)
    assert loan.status is LoanStatus.ISSUED
    assert (loan.amount, loan.requested_amount) == (D("7200.00"), D("10000.00"))
    assert loan.origination_fee == D("360.00")
    assert_ledger_balances()


def test_expiring_listing_below_70_percent_refunds_every_lender():
    now = datetime.now(UTC)
    loan = listed_loan("10000.00", now=now - timedelta(days=15))
    funders = [lender(D("6900")), lender(D("100"))]
    for funder, amount in zip(funders, ("6800", "100"), strict=True):
        investing.invest(
            db.session,
            lender_id=funder.id,
            loan_id=loan.id,
            amount=D(amount),
            idempotency_key=key(),
            now=now - timedelta(days=14, hours=1),
            policy=issuance_policy(),
        )
    assert issuance.expire_listings(db.session, now=now) == {"issued": 0, "expired": 1}
    db.session.refresh(loan)
    assert loan.status is LoanStatus.EXPIRED and loan.funded_amount == 0
    assert cash.available_cash(db.session, funders[0].id) == D("6900.00")
    assert cash.available_cash(db.session, funders[1].id) == D("100.00")
    assert cash.committed_cash(db.session, funders[0].id) == 0
    assert_ledger_balances()


def issuance_policy():
    from app.services.policy import LendingPolicy

    return LendingPolicy(max_investment_per_loan=D("100000.00"))


def test_payments_fall_on_the_issue_day_clamped_to_short_months():
    loan, _ = issued_loan(["1000.00"], term=36, issued_on=date(2025, 1, 31))
    due = [
        row.due_date.isoformat()
        for row in db.session.scalars(
            select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.number)
        )
    ]
    assert due[:5] == ["2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30"]
    assert due[12] == "2026-02-28" and due[-1] == "2028-01-31"


def test_the_level_payment_rounds_up_and_the_first_rows_are_lendingclubs():
    # LendingClub's own installment for $10,000 at 11.44 % over 36 months is $329.48.
    loan, _ = issued_loan(["10000.00"], rate="11.44", term=36, issued_on=date(2025, 3, 10))
    assert loan.monthly_payment == Decimal("329.48")
