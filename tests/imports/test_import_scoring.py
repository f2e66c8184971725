"""An import's applications scored in one pass decide exactly as if each were scored alone:
real LendingClub applications, both ways, compared row by row and notice by notice."""

import csv
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AdverseActionNotice, Loan, LoanPurpose, LoanStatus, RiskAssessment, Role
from app.risk import train
from app.risk.features import application_from_lendingclub
from app.services.lending import import_scoring, origination, underwriting
from tests.factories import CompleteUserFactory

PURPOSE = {
    "debt_consolidation": LoanPurpose.DEBT_CONSOLIDATION,
    "credit_card": LoanPurpose.CREDIT_CARD,
    "home_improvement": LoanPurpose.HOME_IMPROVEMENT,
    "major_purchase": LoanPurpose.MAJOR_PURCHASE,
    "small_business": LoanPurpose.BUSINESS,
    "educational": LoanPurpose.EDUCATION,
    "all_other": LoanPurpose.OTHER,
}


def _imported(count: int) -> list[int]:
    """Submitted applications as an import leaves them, from every 25th LendingClub row."""
    borrower = CompleteUserFactory(role=Role.BORROWER)
    with open(train.DEFAULT_CSV) as training_file:
        rows = list(csv.DictReader(training_file))[::25][:count]
    ids = []
    for index, row in enumerate(rows):
        facts = application_from_lendingclub(row)
        if index % 10 == 5:  # debts that leave little room: counter-offers and declines
            facts["monthly_debt"] = facts["annual_income"] * (0.30 + index % 4 * 0.04) / 12
        loan = origination.create_application(
            db.session,
            borrower.id,
            amount=Decimal(str(min(max(facts.pop("amount"), 1000), 40000))),
            term_months=60 if index % 3 == 0 else 36,
            purpose=PURPOSE[facts.pop("purpose")],
            credit_facts={
                key: (Decimal(str(round(value, 2))) if key != "credit_score" else int(value))
                for key, value in facts.items()
                if key not in ("credit_history_months", "delinquencies_2y")
            }
            | {"credit_history_months": int(facts["credit_history_months"]),
               "delinquencies_2y": int(facts["delinquencies_2y"])},
        )  # fmt: skip
        loan.external_id = f"LC-{index}"
        ids.append(loan.id)
    db.session.flush()
    return ids


def _outcome(loan_ids: list[int]) -> list[tuple]:
    db.session.flush()
    db.session.expire_all()
    outcome = []
    for loan_id in loan_ids:
        loan = db.session.get(Loan, loan_id)
        assessments = db.session.scalars(
            select(RiskAssessment)
            .where(RiskAssessment.loan_id == loan_id)
            .order_by(RiskAssessment.id)
        ).all()
        notice = db.session.scalar(
            select(AdverseActionNotice).where(AdverseActionNotice.loan_id == loan_id)
        )
        outcome.append(
            (
                loan.status, loan.amount, loan.term_months, loan.risk_grade, loan.interest_rate,
                loan.apr, loan.monthly_payment, loan.decision_reasons,
                [(a.grade, a.recommended_rate, a.approved, a.reasons, a.risk_score,
                  pytest.approx(float(a.probability_of_default), abs=2e-6),
                  {k: pytest.approx(v, abs=2e-6) if isinstance(v, float) else v
                   for k, v in a.features.items()}) for a in assessments],
                notice and (notice.kind, notice.reasons, notice.figures),
            )
        )  # fmt: skip
    return outcome


def test_one_pass_decides_every_application_as_one_by_one_does():
    loan_ids = _imported(300)
    with db.session.begin_nested() as together:
        scored = import_scoring.record_scores(db.session, chunk=128)  # several chunks
        for loan_id in loan_ids:
            underwriting.score_application(db.session, loan_id)
        in_one_pass = _outcome(loan_ids)
        together.rollback()
    with db.session.begin_nested() as apart:
        for loan_id in loan_ids:
            underwriting.score_application(db.session, loan_id)
        one_by_one = _outcome(loan_ids)
        apart.rollback()

    assert scored == len(loan_ids)
    assert in_one_pass == one_by_one
    statuses = Counter(row[0] for row in one_by_one)
    assert statuses[LoanStatus.OFFERED] and statuses[LoanStatus.DECLINED]  # both were compared
    assert any(row[-1] and row[-1][0] == "counter_offer" for row in one_by_one)


def test_the_pass_leaves_what_it_cannot_score_and_never_scores_twice():
    loan_ids = _imported(30)
    db.session.get(Loan, loan_ids[0]).external_id = None  # not an import: not this pass's
    assert import_scoring.record_scores(db.session) == 29
    assert import_scoring.record_scores(db.session) == 0
    assert (
        db.session.scalars(
            select(RiskAssessment.loan_id).where(RiskAssessment.loan_id == loan_ids[0])
        ).all()
        == []
    )
