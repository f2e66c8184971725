"""Money paid ahead of schedule during a hardship rate reduction keeps the reduced rate.

The prepayment rule (`allocation`) rebuilds the installments left at the loan's own rate; while
a rate reduction runs, they are then rebuilt once more by the rate-reduction rule: the reduced
rate for the reduced installments left, then the loan's rate, over the installments the
prepayment left (docs/lending-rules.md "Hardship plans").
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Installment, Loan, LoanModification, ModificationKind, ModificationState
from app.services.policy import LendingPolicy
from app.services.servicing import amortization, hardship
from app.services.servicing.allocation import OPEN


def after_prepayment(session: Session, loan: Loan, on: date, policy: LendingPolicy) -> None:
    """Put the reduced rate back on the installments a prepayment on `on` rebuilt."""
    reduction = session.scalars(
        select(LoanModification)
        .where(
            LoanModification.loan_id == loan.id,
            LoanModification.kind == ModificationKind.RATE_REDUCTION,
            LoanModification.state == ModificationState.APPLIED,
        )
        .order_by(LoanModification.accepted_at.desc())
        .limit(1)
    ).first()
    if reduction is None:
        return
    months, low = reduction.terms["months"], Decimal(reduction.terms["reduced_rate"])
    until = date.fromisoformat(reduction.new_schedule[months - 1]["due_date"])
    session.flush()
    rows = list(
        session.scalars(
            select(Installment)
            .where(Installment.loan_id == loan.id, Installment.status.in_(OPEN))
            .order_by(Installment.number)
        )
    )
    if not rows or rows[0].due_date > until:
        return
    rounding = policy.payment_rounding
    first, due_day = rows[0], loan.issued_at.day
    if first.principal_paid or first.interest_paid:  # part of the running installment prepaid
        balance = sum((r.principal_due - r.principal_paid for r in rows), Decimal(0))
        days = amortization.days_30_360(first.accrual_start, first.due_date)
        first.interest_due = first.interest_settled + amortization.period_interest(
            balance, low, days, amortization.interest_rounding(rounding)
        )
        return
    whole = first.accrual_start == amortization.due_date(first.due_date, -1, due_day)
    position = hardship.Position(
        balance=loan.principal_outstanding,
        annual_rate=loan.interest_rate,
        remaining=len(rows),
        first_due=first.due_date,
        due_day=due_day,
        payment=loan.monthly_payment,
        first_period_days=30
        if whole
        else amortization.days_30_360(first.accrual_start, first.due_date),
    )
    left = sum(1 for row in rows if row.due_date <= until)
    plan = hardship.rate_reduction(position, low, left, max_months=left, rounding=rounding)
    for row, new in zip(rows, plan.installments, strict=True):
        row.principal_due = new.principal
        row.interest_due = new.interest + row.deferred_interest_due  # a spread share stays
    loan.monthly_payment = plan.payment
