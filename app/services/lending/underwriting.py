"""Underwriting: score an application with the active model (or the rules) and decide."""

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Loan, LoanStatus, RiskAssessment
from app.risk import predict
from app.risk.features import FeatureError
from app.services.errors import DomainError, ValidationFailed
from app.services.lending import origination
from app.services.lending.origination import Offer
from app.services.platform import notifications, risk_models
from app.services.policy import DEFAULT_POLICY, LendingPolicy


def score_application(
    session: Session, loan_id: int, *, use_ml: bool = True, policy: LendingPolicy = DEFAULT_POLICY
) -> RiskAssessment:
    """Score a submitted application, record the assessment, then offer or decline.

    Idempotent: an application that was already scored keeps its first assessment.
    """
    loan = session.get(Loan, loan_id, with_for_update=True, populate_existing=True)
    if loan is None:
        raise DomainError(f"No loan #{loan_id}.")
    if loan.status is not LoanStatus.SUBMITTED:
        existing = latest_assessment(session, loan.id)
        if existing is None:
            raise DomainError(f"Loan #{loan_id} is {loan.status.value}, not waiting for a score.")
        return existing
    try:
        result = estimate(
            session, risk_models.application_of(loan), term_months=loan.term_months, use_ml=use_ml
        )
    except FeatureError as error:
        raise ValidationFailed(error.errors) from error
    assessment = RiskAssessment(
        loan_id=loan.id,
        scorer=result.scorer,
        model_version=result.model_version,
        probability_of_default=Decimal(str(result.probability_of_default)),
        risk_score=result.risk_score,
        grade=result.grade or "--",
        recommended_rate=result.interest_rate or Decimal("0"),
        approved=result.approved,
        reasons=result.reasons,
        features=result.features,
    )
    session.add(assessment)
    session.flush()
    _decide(session, loan, result, policy)
    return assessment


def _decide(session: Session, loan: Loan, result: predict.RiskScore, policy: LendingPolicy) -> None:
    """Offer at the scored grade and rate, or decline with the principal reasons."""
    texts = [reason["text"] for reason in result.reasons]
    link = ("borrower.application_show", {"loan_id": loan.id})
    if result.approved:
        origination.make_offer(
            session,
            loan,
            Offer(result.grade, result.interest_rate, result.origination_fee_rate, texts),
            policy,
        )
        notifications.notify(
            session,
            loan.borrower_id,
            "loan.offered",
            "Your loan offer is ready",
            f"Grade {result.grade} at {result.interest_rate}% for "
            f"${loan.amount:,.2f}. Review and accept it.",
            link=link,
            dedupe_key=f"offered-{loan.id}",
        )
    else:
        origination.decline(session, loan, texts)
        notifications.notify(
            session,
            loan.borrower_id,
            "loan.declined",
            "We can't offer you a loan right now",
            "The principal reasons: " + "; ".join(texts) + ".",
            link=link,
            dedupe_key=f"declined-{loan.id}",
        )


def estimate(
    session: Session, application: Mapping, *, term_months: int, use_ml: bool
) -> predict.RiskScore:
    """Score an application with the active model (or the rules) without recording anything.

    Raises FeatureError when a credit fact is missing or impossible.
    """
    active = risk_models.active_version(session) if use_ml else None
    model = risk_models.load_bundle(session, active) if use_ml else None
    return predict.score(application, model=model, use_ml=use_ml, term_months=term_months)


def latest_scores(session: Session, loan_ids: list[int]) -> dict[int, int]:
    """Each loan's latest risk score, for a page of loans in one query."""
    rows = session.execute(
        select(RiskAssessment.loan_id, RiskAssessment.risk_score)
        .where(RiskAssessment.loan_id.in_(loan_ids))
        .distinct(RiskAssessment.loan_id)
        .order_by(RiskAssessment.loan_id, RiskAssessment.id.desc())
    )
    return dict(rows.all())


def latest_assessment(session: Session, loan_id: int) -> RiskAssessment | None:
    """The loan's most recent risk assessment, if it was ever scored."""
    return session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.loan_id == loan_id)
        .order_by(RiskAssessment.id.desc())
        .limit(1)
    ).first()
