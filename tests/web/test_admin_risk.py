"""The model card page and the underwriting decision through the active model."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import LoanPurpose, LoanStatus, OutboxMessage, RiskModel, Role
from app.risk import registry
from app.services.errors import DomainError
from app.services.lending import origination, underwriting
from app.services.platform import risk_models
from tests.factories import CompleteUserFactory, UserFactory

D = Decimal
STRONG = {
    "annual_income": D("120000"),
    "monthly_debt": D("200"),
    "credit_score": 790,
    "credit_history_months": 200,
    "revolving_balance": D("2000"),
    "revolving_utilization": D("10"),
    "inquiries_6m": 0,
    "delinquencies_2y": 0,
    "public_records": 0,
}
WEAK = {
    **STRONG,
    "annual_income": D("30000"),
    "monthly_debt": D("900"),
    "credit_score": 640,
    "revolving_utilization": D("95"),
    "revolving_balance": D("20000"),
    "inquiries_6m": 5,
    "public_records": 2,
}


def _application(facts, purpose=LoanPurpose.CREDIT_CARD, amount="8000"):
    borrower = CompleteUserFactory(role=Role.BORROWER)
    return origination.create_application(
        db.session,
        borrower.id,
        amount=D(amount),
        term_months=36,
        purpose=purpose,
        credit_facts=dict(facts),
    )


def test_a_strong_application_gets_a_priced_offer_with_reasons_recorded():
    loan = _application(STRONG)
    assessment = underwriting.score_application(db.session, loan.id)
    assert loan.status is LoanStatus.OFFERED and assessment.approved
    assert loan.risk_grade == assessment.grade and loan.risk_grade.startswith("A")
    assert loan.interest_rate == assessment.recommended_rate
    assert loan.apr > loan.interest_rate  # the origination fee is in the APR
    assert loan.monthly_payment > 0 and loan.decision_reasons is not None
    assert assessment.model_version == registry.default_version() and assessment.scorer == "ml"
    again = underwriting.score_application(db.session, loan.id)
    assert again.id == assessment.id


def test_a_weak_application_is_declined_with_its_principal_reasons():
    loan = _application(WEAK, purpose=LoanPurpose.BUSINESS, amount="15000")
    assessment = underwriting.score_application(db.session, loan.id)
    assert loan.status is LoanStatus.DECLINED and not assessment.approved
    assert 1 <= len(loan.decision_reasons) <= 4
    assert "Credit score 640 is below the 707 typical of approved loans" in loan.decision_reasons


def test_without_ml_the_rules_scorer_decides():
    loan = _application(STRONG)
    assessment = underwriting.score_application(db.session, loan.id, use_ml=False)
    assert assessment.scorer == "rules" and assessment.model_version.startswith("rules-")
    assert loan.status is LoanStatus.OFFERED


def test_activation_switches_the_scoring_model():
    version = registry.default_version()
    risk_models.activate(db.session, version)
    assert risk_models.active_version(db.session) == version
    assert (
        db.session.scalars(select(RiskModel).where(RiskModel.is_active.is_(True))).one().version
        == version
    )
    with pytest.raises(DomainError):
        risk_models.activate(db.session, "risk-logistic-19990101-deadbeef")


def test_model_card_shows_metrics_charts_grades_and_fairness(client, login):
    login(UserFactory(role=Role.ADMIN))
    page = client.get("/admin/risk")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for text in (
        "CV ROC AUC",
        "<svg",
        "Observed default rate",
        "Fairness audit of our pipeline",
        "Women were approved at 1.01 times the rate of men (95 % CI",
        "Applicants under 25 were approved at 0.77 times",
        "Foreign workers were approved at",
        "flagged for review",
        "Drift watch",
        registry.default_version(),
    ):
        assert text in body, text
    card = registry.sidecar(registry.default_version())
    for grade in card["oof"]["grades"]:  # the per-grade calibration table
        assert f"{grade['mean_pd'] * 100:.1f}" in body


def test_the_card_shows_the_latest_drift_report_and_each_versions_volume(client, login):
    from datetime import UTC, datetime

    from app.models import ModelDriftReport

    db.session.add(
        ModelDriftReport(
            model_version=registry.default_version(), computed_at=datetime.now(UTC),
            window_days=30, applications=412, psi={"credit_score": 0.31, "score": 0.04},
        )
    )  # fmt: skip
    login(UserFactory(role=Role.ADMIN))
    body = client.get("/admin/risk").get_data(as_text=True)
    drift = body[body.index('id="drift"') :]
    assert "412 applications" in drift and "0.310" in drift and "shifted" in drift
    assert "Scored" in body and "Approved" in body


@pytest.mark.parametrize("role", [Role.BORROWER, Role.LENDER])
def test_model_card_is_for_admins_only(client, login, role):
    login(UserFactory(role=role))
    assert client.get("/admin/risk").status_code == 403
    assert client.post("/admin/risk/train").status_code == 403


def test_admin_can_queue_training_and_activate_a_version(client, login):
    admin = login(UserFactory(role=Role.ADMIN))
    assert client.post("/admin/risk/train").status_code == 303
    job = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "train_model")).one()
    assert job.user_id == admin.id
    version = registry.default_version()
    assert client.post(f"/admin/risk/{version}/activate").status_code == 303
    assert risk_models.active_version(db.session) == version
    assert client.post("/admin/risk/not-a-version/activate").status_code == 303
    assert risk_models.active_version(db.session) == version
