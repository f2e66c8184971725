"""The marketplace: listed loans filtered, sorted and paged in one indexed query, and what a
lender may see about one loan (never who the borrower is)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.models import Loan, LoanPurpose, LoanStatus, User, VerificationStatus
from app.services.lending import underwriting

PAGE_SIZE = 20
SORTS = {
    "rate": (Loan.interest_rate.desc(), "Highest rate"),
    "amount": (Loan.amount.desc(), "Largest amount"),
    "newest": (Loan.listed_at.desc(), "Newest"),
    "funded": ((Loan.funded_amount / Loan.amount).desc(), "Most funded"),
    "time_left": (Loan.funding_deadline.asc(), "Ending soonest"),
}
SCORE_BANDS = {
    "excellent": (760, 851),
    "very_good": (720, 760),
    "good": (680, 720),
    "fair": (640, 680),
    "poor": (300, 640),
}
INCOME_BANDS = (
    (25000, "under $25k"),
    (50000, "$25k–$50k"),
    (75000, "$50k–$75k"),
    (100000, "$75k–$100k"),
    (150000, "$100k–$150k"),
    (None, "$150k or more"),
)


@dataclass(frozen=True)
class Filters:
    grades: tuple[str, ...] = ()
    term: int | None = None
    purpose: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_rate: Decimal | None = None
    max_rate: Decimal | None = None
    score_band: str | None = None
    max_dti: Decimal | None = None
    verified_only: bool = False
    sort: str = "newest"
    page: int = 1


@dataclass(frozen=True)
class Page:
    rows: list = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1


def debt_to_income():
    """DTI in percent as a SQL expression (monthly debt × 12 / annual income)."""
    return Loan.monthly_debt * 1200 / func.nullif(Loan.annual_income, 0)


def search(session: Session, filters: Filters, now: datetime | None = None) -> Page:
    """One page of listed loans still open, with the total count, per the filters."""
    now = now or datetime.now(UTC)
    conditions = [Loan.status == LoanStatus.LISTED, Loan.funding_deadline > now]
    if filters.grades:
        conditions.append(func.left(Loan.risk_grade, 1).in_(filters.grades))
    if filters.term:
        conditions.append(Loan.term_months == filters.term)
    if filters.purpose:
        conditions.append(Loan.purpose == LoanPurpose(filters.purpose))
    for column, low, high in (
        (Loan.amount, filters.min_amount, filters.max_amount),
        (Loan.interest_rate, filters.min_rate, filters.max_rate),
    ):
        if low is not None:
            conditions.append(column >= low)
        if high is not None:
            conditions.append(column <= high)
    if filters.score_band in SCORE_BANDS:
        low, high = SCORE_BANDS[filters.score_band]
        conditions.append(and_(Loan.credit_score >= low, Loan.credit_score < high))
    if filters.max_dti is not None:
        conditions.append(debt_to_income() <= filters.max_dti)
    query = select(Loan).where(*conditions)
    if filters.verified_only:
        query = query.join(User, User.id == Loan.borrower_id).where(
            User.identity_status == VerificationStatus.VERIFIED
        )
    order, _ = SORTS.get(filters.sort, SORTS["newest"])
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(filters.page, 1), pages)
    rows = session.scalars(
        query.order_by(order, Loan.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return Page(list(rows), total, page, pages)


def score_band(score: int) -> str:
    """A credit-score band a lender may see (never the exact score)."""
    for name, (low, high) in SCORE_BANDS.items():
        if low <= score < high:
            return name.replace("_", " ")
    return "unknown"


def income_band(income: Decimal) -> str:
    """An income band a lender may see (never the exact income)."""
    for ceiling, label in INCOME_BANDS:
        if ceiling is None or income < ceiling:
            return label
    return INCOME_BANDS[-1][1]


def pd_band(probability: Decimal | None) -> str:
    """The model's probability of default, as a band."""
    if probability is None:
        return "not scored"
    percent = float(probability) * 100
    low = int(percent // 2.5 * 2.5)
    return f"{low:.1f}–{low + 2.5:.1f}%"


def lender_view(session: Session, loan: Loan) -> dict:
    """What a lender may know about a listing: terms, risk and credit facts, no identity."""
    assessment = underwriting.latest_assessment(session, loan.id)
    borrower_verified = session.scalar(
        select(User.identity_status).where(User.id == loan.borrower_id)
    )
    dti = (loan.monthly_debt * 1200 / loan.annual_income).quantize(Decimal("0.1"))
    return {
        "pd_band": pd_band(assessment.probability_of_default if assessment else None),
        "reasons": [r["text"] for r in (assessment.reasons if assessment else [])],
        "income_band": income_band(loan.annual_income),
        "score_band": score_band(loan.credit_score),
        "dti": dti,
        "history_years": loan.credit_history_months // 12,
        "utilization": loan.revolving_utilization,
        "inquiries": loan.inquiries_6m,
        "delinquencies": loan.delinquencies_2y,
        "public_records": loan.public_records,
        "verified": borrower_verified is VerificationStatus.VERIFIED,
    }
