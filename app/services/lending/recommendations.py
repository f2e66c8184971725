"""Listings that suit a lender's saved preferences, best first (the page and the API share it)."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import LenderPreference, Loan, LoanStatus, RiskAssessment, RiskTolerance
from app.risk import matching

UNSCORED_PD = 0.15  # a listing without an assessment is treated as an average-risk one


def preference_of(session: Session, lender_id: int) -> LenderPreference:
    """The lender's saved preferences, or the defaults (not saved) when there are none."""
    found = session.scalar(select(LenderPreference).where(LenderPreference.lender_id == lender_id))
    return found or LenderPreference(
        lender_id=lender_id,
        risk_tolerance=RiskTolerance.BALANCED,
        terms=[],
        purposes=[],
        grades=[],
        min_note_amount=Decimal("25.00"),
        max_note_amount=Decimal("500.00"),
        auto_invest_enabled=False,
        auto_amount_per_note=Decimal("25.00"),
        auto_max_per_loan=Decimal("100.00"),
        auto_cash_cap=Decimal("0.00"),
    )


def for_lender(
    session: Session, preference: LenderPreference, now: datetime | None = None
) -> list[tuple[matching.Match, Loan]]:
    """Open listings matched to `preference`, each with its match score and reasons."""
    rows = session.execute(
        select(Loan, RiskAssessment.probability_of_default)
        .outerjoin(RiskAssessment, RiskAssessment.loan_id == Loan.id)
        .where(Loan.status == LoanStatus.LISTED, Loan.funding_deadline > (now or datetime.now(UTC)))
    ).all()
    loans = {loan.id: loan for loan, _ in rows}
    candidates = [
        {
            "id": loan.id,
            "grade": loan.risk_grade,
            "interest_rate": loan.interest_rate,
            "term_months": loan.term_months,
            "purpose": loan.purpose.value,
            "amount_left": loan.amount - loan.funded_amount,
            "percent_funded": loan.percent_funded,
            "probability_of_default": pd if pd is not None else UNSCORED_PD,
        }
        for loan, pd in rows
    ]
    prefs = {
        "risk_tolerance": preference.risk_tolerance.value,
        "terms": preference.terms,
        "purposes": preference.purposes,
        "grades": preference.grades,
        "min_note_amount": preference.min_note_amount,
    }
    return [(match, loans[match.loan_id]) for match in matching.match(prefs, candidates)]
