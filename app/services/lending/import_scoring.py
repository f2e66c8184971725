"""Scoring an import's applications in one pass: every waiting application's facts read in
one query, scored as arrays (`predict.score_many`), and every assessment written in one
statement per chunk. The decisions then follow loan by loan (`underwriting.score_application`
finds the recorded assessment and decides with it): affordability, offers, declines and their
notices are per-borrower work, and each borrower is told.
"""

from decimal import Decimal

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from app.models import CREDIT_FACTS, Loan, LoanStatus, RiskAssessment
from app.risk import grading, predict
from app.services.platform import risk_models

CHUNK = 50_000  # applications held in memory at once (about 60 MB of columns and rows)
FACTS = ("amount", *CREDIT_FACTS)


def record_scores(session: Session, *, chunk: int = CHUNK) -> int:
    """Score every imported application still waiting and without an assessment, with the
    active model, and record the assessments; returns how many were scored. Applications the
    model cannot score are left to the one-by-one path, which says why."""
    model = risk_models.load_bundle(session, risk_models.active_version(session))
    scored, after = 0, 0
    while rows := _waiting(session, after, chunk):
        after = rows[-1].id
        applications = [risk_models.application_of(row) for row in rows]
        batch = predict.score_many(
            applications, model=model, term_months=[row.term_months for row in rows]
        )
        records = _assessments(rows, batch, model.version)
        if records:
            session.execute(insert(RiskAssessment), records)
        scored += len(records)
    session.flush()
    return scored


def as_score(assessment: RiskAssessment) -> predict.RiskScore:
    """A recorded assessment as the score it recorded (to decide with it)."""
    approved = assessment.approved
    grade = assessment.grade if approved else None
    return predict.RiskScore(
        probability_of_default=float(assessment.probability_of_default),
        grade=grade,
        approved=approved,
        interest_rate=assessment.recommended_rate if approved else None,
        origination_fee_rate=grading.origination_fee_percent(grade) if approved else None,
        reasons=assessment.reasons,
        model_version=assessment.model_version,
        scorer=assessment.scorer,
        risk_score=assessment.risk_score,
        features=assessment.features,
    )


def _waiting(session: Session, after: int, chunk: int):
    scored = exists().where(RiskAssessment.loan_id == Loan.id)
    return session.execute(
        select(Loan.id, Loan.term_months, Loan.purpose, *(getattr(Loan, f) for f in FACTS))
        .where(
            Loan.status == LoanStatus.SUBMITTED,
            Loan.external_id.is_not(None),
            Loan.id > after,
            ~scored,
        )
        .order_by(Loan.id)
        .limit(chunk)
    ).all()


def _assessments(rows, batch, version: str) -> list[dict]:
    """The rows `underwriting.score_application` would record, for those the model scored."""
    features = batch.every_feature_row()
    reasons = batch.every_reason()
    records = []
    for index, row in enumerate(rows):
        if index in batch.errors:
            continue
        pd = round(float(batch.probability_of_default[index]), 6)
        records.append(
            {
                "loan_id": row.id,
                "scorer": "ml",
                "model_version": version,
                "probability_of_default": Decimal(str(pd)),
                "risk_score": predict.points(float(batch.probability_of_default[index])),
                "grade": batch.grades[index] or "--",
                "recommended_rate": batch.interest_rate(index) or Decimal("0"),
                "approved": batch.approved(index),
                "reasons": reasons[index],
                "features": features[index],
            }
        )
    return records
