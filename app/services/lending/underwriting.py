"""Underwriting: score an application with the active model (or the rules) and decide."""

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Loan, LoanStatus, RiskAssessment
from app.risk import predict
from app.risk.features import FeatureError
from app.services.errors import DomainError, ValidationFailed
from app.services.lending import adverse_action, affordability, import_scoring, origination
from app.services.lending.origination import Offer
from app.services.platform import notifications, risk_models
from app.services.policy import DEFAULT_POLICY, LendingPolicy


def score_application(
    session: Session, loan_id: int, *, use_ml: bool = True, policy: LendingPolicy = DEFAULT_POLICY
) -> RiskAssessment:
    """Score a submitted application, record the assessment, then offer or decline.

    Idempotent: an application that was already scored keeps its first assessment. One its
    import already scored in one pass (`import_scoring`) is decided with that score.
    """
    loan = session.get(Loan, loan_id, with_for_update=True, populate_existing=True)
    if loan is None:
        raise DomainError(f"No loan #{loan_id}.")
    assessment = latest_assessment(session, loan.id)
    if loan.status is not LoanStatus.SUBMITTED:
        if assessment is None:
            raise DomainError(f"Loan #{loan_id} is {loan.status.value}, not waiting for a score.")
        return assessment
    application = risk_models.application_of(loan)
    if assessment is not None:
        result = import_scoring.as_score(assessment)
    else:
        try:
            result = estimate(session, application, term_months=loan.term_months, use_ml=use_ml)
        except FeatureError as error:
            raise ValidationFailed(error.errors) from error
        assessment = _record(session, loan, result)
    return _decide(session, loan, application, result, use_ml, policy) or assessment


def _decide(session, loan, application, result, use_ml, policy) -> RiskAssessment | None:
    """Decline, offer as priced, or counter-offer what fits (its new assessment returned)."""
    if not result.approved:
        _decline(session, loan, [reason["text"] for reason in result.reasons], result, policy)
        return None
    check = affordability.assess(
        loan.annual_income,
        loan.monthly_debt,
        loan.amount,
        loan.term_months,
        result.interest_rate,
        _pricer(session, application, use_ml),
        policy,
    )
    if check.fits:
        _offer(session, loan, result, policy)
    elif check.counter is not None:
        return _counter_offer(session, loan, application, check, use_ml, policy)
    else:
        _decline(session, loan, [unaffordable(check)], result, policy, check)
    return None


def _record(session: Session, loan: Loan, result: predict.RiskScore) -> RiskAssessment:
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
    return assessment


def _pricer(session: Session, application: Mapping, use_ml: bool) -> affordability.Pricer:
    """The rate the model would offer for another amount or term of the same application
    (the active model found once: the counter-offer's search prices many amounts)."""
    model = _active_model(session) if use_ml else None

    def price(amount: Decimal, term_months: int) -> Decimal | None:
        changed = {**application, "amount": amount}
        scored = predict.score(changed, model=model, use_ml=use_ml, term_months=term_months)
        return scored.interest_rate

    return price


def unaffordable(check: affordability.Affordability) -> str:
    """The affordability reason for the request, with its numbers."""
    return (
        f"Your debts of ${check.monthly_debt:,.2f} a month plus this loan's payment of "
        f"${check.requested.payment:,.2f} would take {check.requested.debt_to_income} % of "
        f"your income (${check.annual_income:,.2f} a year), above our "
        f"{check.limit_percent} % limit"
    )


def _offer_of(result: predict.RiskScore) -> Offer:
    texts = [reason["text"] for reason in result.reasons]
    return Offer(result.grade, result.interest_rate, result.origination_fee_rate, texts)


def _offer(session: Session, loan: Loan, result: predict.RiskScore, policy: LendingPolicy):
    """Offer at the scored grade and rate."""
    origination.make_offer(session, loan, _offer_of(result), policy)
    notifications.notify(
        session,
        loan.borrower_id,
        "loan.offered",
        "Your loan offer is ready",
        f"Grade {result.grade} at {result.interest_rate}% for "
        f"${loan.amount:,.2f}. Review and accept it.",
        link=("borrower.application_show", {"loan_id": loan.id}),
        dedupe_key=f"offered-{loan.id}",
    )


def _counter_offer(session, loan, application, check, use_ml, policy) -> RiskAssessment:
    """The largest loan that fits, scored and priced as itself, with its notice."""
    counter = check.counter
    result = estimate(
        session,
        {**application, "amount": counter.amount},
        term_months=counter.term_months,
        use_ml=use_ml,
    )
    loan.amount, loan.term_months = counter.amount, counter.term_months
    assessment = _record(session, loan, result)
    origination.make_offer(session, loan, _offer_of(result), policy)
    adverse_action.issue(
        session,
        loan,
        "counter_offer",
        [unaffordable(check)],
        figures=check.figures(),
        model_version=result.model_version,
        policy=policy,
    )
    return assessment


def _decline(session, loan, reasons, result, policy, check=None) -> None:
    """Decline with the principal reasons, and the notice that owes the applicant."""
    origination.decline(session, loan, reasons)
    adverse_action.issue(
        session,
        loan,
        "decline",
        reasons,
        figures=check.figures() if check else None,
        model_version=result.model_version,
        policy=policy,
    )


def estimate(
    session: Session, application: Mapping, *, term_months: int, use_ml: bool
) -> predict.RiskScore:
    """Score an application with the active model (or the rules) without recording anything.

    Raises FeatureError when a credit fact is missing or impossible.
    """
    model = _active_model(session) if use_ml else None
    return predict.score(application, model=model, use_ml=use_ml, term_months=term_months)


def _active_model(session: Session):
    return risk_models.load_bundle(session, risk_models.active_version(session))


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
