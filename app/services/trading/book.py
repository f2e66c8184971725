"""What the secondary market reads of notes and loans: schedules, quotes and states."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Installment, InstallmentStatus, Investment, Loan, ServicingStatus
from app.services.policy import LendingPolicy
from app.services.trading import pricing

OPEN = (InstallmentStatus.SCHEDULED, InstallmentStatus.DUE, InstallmentStatus.LATE)
# Worse to the right. A note may be listed while its loan is in any of the first four states.
STATUS_ORDER = (
    ServicingStatus.CURRENT,
    ServicingStatus.GRACE,
    ServicingStatus.LATE_16_30,
    ServicingStatus.LATE_31_120,
    ServicingStatus.DEFAULT,
    ServicingStatus.CHARGED_OFF,
)
TRADEABLE = STATUS_ORDER[:4]
STATUS_LABELS = {
    ServicingStatus.CURRENT: "Current",
    ServicingStatus.GRACE: "In grace period",
    ServicingStatus.LATE_16_30: "Late (16–30 days)",
    ServicingStatus.LATE_31_120: "Late (31–120 days)",
    ServicingStatus.DEFAULT: "Default",
    ServicingStatus.CHARGED_OFF: "Charged off",
    ServicingStatus.PAID_OFF: "Paid off",
}


def worse(now: ServicingStatus, then: ServicingStatus) -> bool:
    """Whether the loan's state `now` is worse than it was (`then`)."""
    if now not in STATUS_ORDER:
        return True  # paid off: nothing left to sell
    return STATUS_ORDER.index(now) > STATUS_ORDER.index(then)


def why_not_tradeable(note: Investment, loan: Loan) -> str | None:
    """Why this note cannot be sold now, or None."""
    if note.status.value != "active":
        return f"note #{note.id} is {note.status.value.replace('_', ' ')}"
    if loan.servicing_status not in TRADEABLE:
        return f"loan #{loan.id} is {STATUS_LABELS[loan.servicing_status].lower()}"
    return None


def open_installments(
    session: Session, loan_ids: list[int]
) -> dict[int, list[pricing.OpenInstallment]]:
    """Each loan's unpaid installments, in order, as pricing reads them (one query)."""
    found = defaultdict(list)
    if not loan_ids:
        return found
    rows = session.execute(
        select(
            Installment.loan_id,
            Installment.due_date,
            Installment.principal_due - Installment.principal_paid,
            Installment.interest_due,
            Installment.interest_paid,
            Installment.interest_settled,
            Installment.accrual_start,
            Installment.deferred_interest_due,
        )
        .where(Installment.loan_id.in_(loan_ids), Installment.status.in_(OPEN))
        .order_by(Installment.loan_id, Installment.due_date, Installment.number)
    )
    for loan_id, *fields in rows:
        found[loan_id].append(pricing.OpenInstallment(*fields))
    return found


def note_quote(
    note: Investment,
    loan: Loan,
    installments: list[pricing.OpenInstallment],
    markup_percent: Decimal,
    as_of: date,
    policy: LendingPolicy,
) -> pricing.Quote:
    return pricing.note_quote(
        principal=note.principal_outstanding,
        note_amount=note.amount,
        funded_amount=loan.funded_amount,
        installments=installments,
        as_of=as_of,
        markup_percent=markup_percent,
        fee_percent=policy.trading_fee_percent,
    )


def note_yield(
    note: Investment,
    loan: Loan,
    installments: list[pricing.OpenInstallment],
    price: Decimal,
    as_of: date,
    policy: LendingPolicy,
) -> Decimal | None:
    share = pricing.note_share(note.amount, loan.funded_amount)
    flows = pricing.note_cash_flows(installments, share, policy.servicing_fee_percent, as_of)
    return pricing.yield_to_maturity(price, flows, as_of)
