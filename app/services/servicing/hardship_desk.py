"""After the borrower says yes: a settlement's lump sum recorded when it arrives (then the loan
is settled), and the daily expiry of offers nobody accepted."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.models import Loan, LoanModification, ModificationKind, ModificationState, ServicingStatus
from app.models.modification import OPEN_STATES
from app.services.errors import ValidationFailed
from app.services.platform import activity
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import modification_apply, modifications


def record_settlement(
    session: Session,
    modification_id: int,
    admin_id: int,
    amount: Decimal,
    received_on: date,
    reason: str,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> LoanModification:
    """The agreed lump sum arrived: it is applied as a payment and the rest charged off.

    Refused (nothing changes) unless it is the agreed amount and still within the floor and
    below the payoff on the day it arrived."""
    if not (reason or "").strip():
        raise ValidationFailed({"reason": "Every servicing action needs a reason."})
    modification = modifications.open_plan(session, modification_id, ModificationState.ACCEPTED)
    loan = modifications.locked_loan(session, modification.loan_id)
    agreed = Decimal(modification.terms["amount"])
    if amount != agreed:
        raise ValidationFailed({"amount": f"The agreed lump sum is ${agreed:,.2f}."})
    seen = modifications.preview(
        session, loan, ModificationKind.SETTLEMENT, {"amount": agreed}, received_on, policy
    )
    modification.old_schedule, modification.cost_difference = seen.old, seen.cost_difference
    modification.state = ModificationState.APPLIED
    activity.record(
        session, "loan.settlement_received", user_id=admin_id, entity=modification,
        loan_id=loan.id, amount=str(amount), reason=reason.strip(),
    )  # fmt: skip
    modification_apply.apply(session, loan, modification, seen, received_on, policy)
    return modification


def expire_stale(
    session: Session, business_date: date, policy: LendingPolicy = DEFAULT_POLICY
) -> int:
    """The daily cycle's step: offers not accepted within `hardship_offer_days`, and open
    requests on loans that closed, expire. Returns how many."""
    session.flush()
    lapse = datetime.combine(business_date, datetime.min.time(), tzinfo=UTC) - timedelta(
        days=policy.hardship_offer_days
    )
    closed = select(Loan.id).where(
        Loan.servicing_status.in_((ServicingStatus.CHARGED_OFF, ServicingStatus.PAID_OFF))
    )
    result = session.execute(
        update(LoanModification)
        .where(
            LoanModification.state.in_(OPEN_STATES),
            or_(
                (LoanModification.state == ModificationState.OFFERED)
                & (LoanModification.approved_at < lapse),
                LoanModification.loan_id.in_(closed),
            ),
        )
        .values(state=ModificationState.EXPIRED, decided_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
