"""The drift watch: the PSI formula by hand, and real LendingClub applications run through
underwriting — a sample like the training file stays stable, a subprime one shifts and warns."""

import csv
import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import LoanPurpose, ModelDriftReport, Notification, RiskAssessment, Role
from app.risk import drift, predict, train
from app.risk.features import application_from_lendingclub, build_features
from app.services.lending import origination
from app.services.platform import model_drift
from tests.builders import CREDIT_FACTS
from tests.factories import CompleteUserFactory, UserFactory


def test_psi_is_the_published_formula():
    expected, actual = [0.5, 0.5], [0.25, 0.75]
    by_hand = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert drift.psi(expected, actual) == pytest.approx(by_hand)
    assert drift.psi(expected, expected) == 0
    assert [drift.level(v) for v in (0.05, 0.2, 0.3)] == ["stable", "watch", "shifted"]


def test_the_training_bins_are_deciles_of_the_training_data():
    bins = registry_bins()
    assert len(bins["credit_score"]["shares"]) == len(bins["credit_score"]["edges"]) + 1
    assert sum(bins["credit_score"]["shares"]) == pytest.approx(1)
    assert sum(bins["purpose"]["shares"]) == pytest.approx(1)
    with open(train.DEFAULT_CSV) as training_file:
        fico = np.array([float(row["fico"]) for row in csv.DictReader(training_file)])
    median, edge = np.quantile(fico, 0.5), bins["credit_score"]["edges"][4]
    assert fico[fico < median].max() < edge <= median  # halfway below the median score


def registry_bins() -> dict:
    return predict.load_model().metadata["drift_reference"]


def _lendingclub(keep) -> list[dict]:
    with open(train.DEFAULT_CSV) as training_file:
        return [
            application_from_lendingclub(row) for row in csv.DictReader(training_file) if keep(row)
        ]


def _score_into_the_book(applications) -> None:
    """Assessments as underwriting records them, for real applications (on one loan: the
    watch reads assessments, not loans)."""
    borrower = CompleteUserFactory(role=Role.BORROWER)
    loan = origination.create_application(
        db.session, borrower.id, amount=Decimal("5000"), term_months=36,
        purpose=LoanPurpose.OTHER, credit_facts=dict(CREDIT_FACTS),
    )  # fmt: skip
    for application in applications:
        result = predict.score(application)
        db.session.add(
            RiskAssessment(
                loan_id=loan.id, scorer="ml", model_version=result.model_version,
                probability_of_default=Decimal(str(result.probability_of_default)),
                risk_score=result.risk_score, grade=result.grade or "--",
                recommended_rate=result.interest_rate or 0, approved=result.approved,
                reasons=result.reasons, features=result.features,
            )
        )  # fmt: skip
    db.session.flush()


def test_applications_like_the_training_data_are_stable(app):
    sample = _lendingclub(lambda row: True)[::40]  # every fortieth: the file is ordered
    assert len(sample) >= 150
    _score_into_the_book(sample)
    admin = UserFactory(role=Role.ADMIN)
    report = model_drift.measure(db.session, datetime.now(UTC))
    assert report.applications == len(sample)
    assert set(report.psi) == {*build_features(sample[0]), "score"}
    assert max(report.psi.values()) < drift.SHIFTED
    assert not db.session.scalars(
        select(Notification).where(Notification.user_id == admin.id)
    ).all()


def test_a_subprime_month_shifts_the_score_and_warns_the_admins(app):
    subprime = _lendingclub(lambda row: float(row["fico"]) < 680)[:300]
    _score_into_the_book(subprime)
    admin = UserFactory(role=Role.ADMIN)
    report = model_drift.measure(db.session, datetime.now(UTC))
    assert report.psi["credit_score"] > drift.SHIFTED and report.psi["score"] > drift.SHIFTED
    stored = db.session.scalars(select(ModelDriftReport)).one()
    assert stored.psi == report.psi and stored.model_version == predict.load_model().version
    (warning,) = db.session.scalars(
        select(Notification).where(Notification.user_id == admin.id)
    ).all()
    assert warning.kind == "model.drift" and "credit score" in warning.body


def test_too_few_applications_make_no_report(app):
    _score_into_the_book(_lendingclub(lambda row: True)[:20])
    assert model_drift.measure(db.session, datetime.now(UTC)) is None
