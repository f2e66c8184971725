"""Auto-invest: buy notes for lenders by their own rules, never the last notes of a listing."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Investment, InvestmentStatus, LenderPreference, Loan, LoanStatus
from app.risk.matching import TOLERANCE_GRADES
from app.services.errors import DomainError
from app.services.lending import investing
from app.services.money import cash
from app.services.policy import DEFAULT_POLICY, LendingPolicy

LAST_NOTES_SHARE = Decimal("0.10")  # leave the last 10% (at least $100) to people choosing by hand
LAST_NOTES_FLOOR = Decimal("100.00")


def run_for_loan(
    session: Session,
    loan_id: int,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> int:
    """Offer a newly listed loan to every lender whose rules match; returns notes bought."""
    rules = session.scalars(
        select(LenderPreference)
        .where(LenderPreference.auto_invest_enabled.is_(True))
        .order_by(LenderPreference.lender_id)
    ).all()
    return sum(_invest_by_rule(session, rule, loan_id, policy, now) for rule in rules)


def run_for_lender(
    session: Session,
    lender_id: int,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> int:
    """Put a lender's new cash to work across the open listings their rules match."""
    rule = session.scalar(select(LenderPreference).where(LenderPreference.lender_id == lender_id))
    if rule is None or not rule.auto_invest_enabled:
        return 0
    listed = session.scalars(
        select(Loan.id).where(Loan.status == LoanStatus.LISTED).order_by(Loan.listed_at, Loan.id)
    ).all()
    return sum(_invest_by_rule(session, rule, loan_id, policy, now) for loan_id in listed)


def why_not(rule: LenderPreference, loan: Loan) -> str | None:
    """The rule a loan fails, or None when it matches."""
    grade = (loan.risk_grade or "?")[0]
    if rule.grades and grade not in rule.grades:
        return f"grade {grade} is not among {''.join(rule.grades)}"
    if grade not in TOLERANCE_GRADES[rule.risk_tolerance.value]:
        return f"grade {grade} is outside a {rule.risk_tolerance.value} tolerance"
    if rule.terms and loan.term_months not in rule.terms:
        return f"{loan.term_months}-month term not chosen"
    if rule.purposes and loan.purpose.value not in rule.purposes:
        return f"purpose {loan.purpose.value} not chosen"
    return None


def _invest_by_rule(session, rule: LenderPreference, loan_id: int, policy, now) -> int:
    loan = session.get(Loan, loan_id, populate_existing=True)
    if loan is None or loan.status is not LoanStatus.LISTED or why_not(rule, loan):
        return 0
    amount = rule.auto_amount_per_note
    reserve = max(loan.amount * LAST_NOTES_SHARE, LAST_NOTES_FLOOR)
    if loan.amount - loan.funded_amount - amount < reserve:
        return 0  # the last notes are for lenders choosing by hand
    held = investing.amount_held(session, rule.lender_id, loan.id)
    used = session.scalar(
        select(func.coalesce(func.sum(Investment.amount), 0)).where(
            Investment.lender_id == rule.lender_id,
            Investment.auto_invested.is_(True),
            Investment.status.in_([InvestmentStatus.COMMITTED, InvestmentStatus.ACTIVE]),
        )
    )
    if held + amount > rule.auto_max_per_loan or used + amount > rule.auto_cash_cap:
        return 0
    if cash.available_cash(session, rule.lender_id) < amount:
        return 0
    reason = (
        f"Auto-invest: grade {loan.risk_grade}, {loan.term_months} months, "
        f"{loan.purpose.value.replace('_', ' ')} matched your rules"
    )
    try:
        investing.invest(
            session,
            lender_id=rule.lender_id,
            loan_id=loan.id,
            amount=amount,
            idempotency_key=f"auto-{loan.id}-{rule.lender_id}-{held}",
            policy=policy,
            now=now or datetime.now(UTC),
            auto_reason=reason,
        )
    except DomainError:
        return 0
    return 1
