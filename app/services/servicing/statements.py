"""A loan's account as its borrower sees it: the schedule, what is due, what was paid."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Installment, Loan, LoanStatus, Payment, ServicingStatus
from app.services.money.money import ZERO
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import amortization
from app.services.servicing.allocation import OPEN


@dataclass(frozen=True)
class LoanStatement:
    installments: list[Installment]
    next: Installment | None  # the oldest installment not yet paid
    next_amount: Decimal | None  # what is left to pay on it
    due_now: Decimal  # owed now: scheduled amounts already due, and unpaid late fees
    fees_owed: Decimal  # unpaid late fees (owed, but not delinquency)
    total_paid: Decimal


def statement(session: Session, loan: Loan, today: date) -> LoanStatement:
    installments = session.scalars(
        select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.number)
    ).all()
    open_ones = [i for i in installments if i.status in OPEN]
    first = open_ones[0] if open_ones else None
    fees_owed = sum((i.fee_outstanding for i in installments), ZERO)
    return LoanStatement(
        installments=list(installments),
        next=first,
        next_amount=first.total_due - first.total_paid if first else None,
        due_now=sum((i.scheduled_left for i in open_ones if i.due_date <= today), ZERO) + fees_owed,
        fees_owed=fees_owed,
        total_paid=session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.loan_id == loan.id)
        ),
    )


def total_repayment(
    session: Session, loan: Loan, today: date, policy: LendingPolicy = DEFAULT_POLICY
) -> Decimal | None:
    """Everything the borrower repays: the real schedule once issued, the offer's before."""
    return total_repayments(session, [loan], today, policy)[loan.id]


def total_repayments(
    session: Session, loans: list[Loan], today: date, policy: LendingPolicy = DEFAULT_POLICY
) -> dict[int, Decimal | None]:
    """`total_repayment` for each of `loans`: the issued ones' schedules in one query."""
    issued = [loan.id for loan in loans if loan.status is LoanStatus.ISSUED]
    sums = _scheduled_totals(session, issued) if issued else {}
    return {
        loan.id: sums.get(loan.id) if loan.status is LoanStatus.ISSUED
        else _offered_total(loan, today, policy)
        for loan in loans
    }  # fmt: skip


def _scheduled_totals(session: Session, loan_ids: list[int]) -> dict[int, Decimal]:
    owed = Installment.principal_due + Installment.interest_due + Installment.fee_due
    return dict(
        session.execute(
            select(Installment.loan_id, func.sum(owed))
            .where(Installment.loan_id.in_(loan_ids))
            .group_by(Installment.loan_id)
        ).all()
    )


def _offered_total(loan: Loan, today: date, policy: LendingPolicy) -> Decimal | None:
    """A listing's repayment on the level-payment schedule it is offered on."""
    if loan.interest_rate is None:
        return None
    plans = amortization.schedule_from_issue(
        loan.amount, loan.interest_rate, loan.term_months, today, rounding=policy.payment_rounding
    )
    return sum((plan.payment for plan in plans), ZERO)


def in_repayment(loan: Loan) -> bool:
    """Issued and neither paid off nor charged off: the borrower can pay."""
    return loan.status is LoanStatus.ISSUED and loan.servicing_status not in (
        ServicingStatus.PAID_OFF,
        ServicingStatus.CHARGED_OFF,
    )


def payment_amount(
    choice: str, account: LoanStatement, payoff: Decimal | None, chosen: Decimal | None
) -> Decimal | None:
    """What a pay choice comes to: "scheduled" is what is due now (or else the next
    installment), "payoff" the payoff quote, anything else the amount the borrower chose."""
    if choice == "scheduled":
        return account.due_now or account.next_amount
    if choice == "payoff":
        return payoff
    return chosen
