"""Auto-invest: buy notes for lenders by their own rules, never the last notes of a listing."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Investment, InvestmentStatus, LenderPreference, Loan, LoanStatus
from app.risk.matching import TOLERANCE_GRADES
from app.services.lending import investing, placement
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
    loan = session.get(Loan, loan_id, populate_existing=True)
    if loan is None:
        return 0
    plan = _Plan(session, policy)
    return _place(session, [plan.order(rule, loan) for rule in rules], policy, now)


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
        select(Loan)
        .where(Loan.status == LoanStatus.LISTED)
        .order_by(Loan.listed_at, Loan.id)
        .execution_options(populate_existing=True)
    ).all()
    plan = _Plan(session, policy)
    return _place(session, [plan.order(rule, loan) for loan in listed], policy, now)


def _place(session, orders, policy, now) -> int:
    """One set-based placement of the sweep's orders; the notes it bought."""
    orders = [order for order in orders if order is not None]
    if not orders:
        return 0
    outcomes = placement.invest_many(session, orders, policy, now or datetime.now(UTC))
    return sum(1 for outcome in outcomes if isinstance(outcome, placement.Note))


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


class _Plan:
    """The sweep's orders decided one after another, each seeing those before it: what is
    left in each loan, and each lender's holdings, auto-invested total and cash."""

    def __init__(self, session: Session, policy: LendingPolicy):
        self.session, self.policy = session, policy
        self.funded: dict[int, Decimal] = {}
        self.held: dict[tuple[int, int], Decimal] = {}
        self.used: dict[int, Decimal] = {}
        self.cash: dict[int, Decimal] = {}

    def order(self, rule: LenderPreference, loan: Loan) -> placement.Order | None:
        """The order `rule` places in `loan`, or None when a rule or a limit says no."""
        if loan.status is not LoanStatus.LISTED or why_not(rule, loan):
            return None
        amount, lender_id = rule.auto_amount_per_note, rule.lender_id
        funded = self.funded.setdefault(loan.id, loan.funded_amount)
        reserve = max(loan.amount * LAST_NOTES_SHARE, LAST_NOTES_FLOOR)
        if loan.amount - funded - amount < reserve:
            return None  # the last notes are for lenders choosing by hand
        held = self._held(lender_id, loan.id)
        used = self._used(lender_id)
        cap = min(rule.auto_max_per_loan, self.policy.max_investment_per_loan)
        if held + amount > cap or used + amount > rule.auto_cash_cap:
            return None
        if self._cash(lender_id) < amount:
            return None
        self.funded[loan.id] = funded + amount
        self.held[(lender_id, loan.id)] = held + amount
        self.used[lender_id] = used + amount
        self.cash[lender_id] -= amount
        reason = (
            f"Auto-invest: grade {loan.risk_grade}, {loan.term_months} months, "
            f"{loan.purpose.value.replace('_', ' ')} matched your rules"
        )
        return placement.Order(
            lender_id, loan.id, amount, f"auto-{loan.id}-{lender_id}-{held}", reason
        )

    def _held(self, lender_id: int, loan_id: int) -> Decimal:
        if (lender_id, loan_id) not in self.held:
            self.held[(lender_id, loan_id)] = investing.amount_held(
                self.session, lender_id, loan_id
            )
        return self.held[(lender_id, loan_id)]

    def _used(self, lender_id: int) -> Decimal:
        if lender_id not in self.used:
            self.used[lender_id] = self.session.scalar(
                select(func.coalesce(func.sum(Investment.amount), 0)).where(
                    Investment.lender_id == lender_id,
                    Investment.auto_invested.is_(True),
                    Investment.status.in_([InvestmentStatus.COMMITTED, InvestmentStatus.ACTIVE]),
                )
            )
        return self.used[lender_id]

    def _cash(self, lender_id: int) -> Decimal:
        if lender_id not in self.cash:
            self.cash[lender_id] = cash.available_cash(self.session, lender_id)
        return self.cash[lender_id]
