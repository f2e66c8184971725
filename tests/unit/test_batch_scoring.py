"""Batch scoring (`predict.score_many`, array operations end to end) against scoring one by one
(`predict.score`): the same probability of default, grade, rate and reasons for every row of
real LendingClub applications, for the shipped logistic model and a monotone gradient-boosted
one, and the same messages for rows that cannot be scored."""

import csv
import random

import pytest

from app.risk import predict, train
from app.risk.features import FeatureError, application_from_lendingclub


@pytest.fixture(scope="module")
def applications() -> list[dict]:
    with train.DEFAULT_CSV.open(newline="") as stream:
        rows = [application_from_lendingclub(row) for row in csv.DictReader(stream)]
    sample = random.Random(19).sample(rows, 1500)
    # Text and Decimal-looking inputs, as forms and CSV files give them.
    for application in sample[:100]:
        application["amount"] = f"{application['amount']:.2f}"
        application["annual_income"] = str(application["annual_income"])
    return sample


@pytest.fixture(scope="module")
def gbm_model():
    return train.train(families=("gbm_monotone",), calibrations=("isotonic",), limit=2000)


def _same_as_one_by_one(applications, model, terms):
    scored = predict.score_many(applications, model=model, term_months=terms)
    assert len(scored) == len(applications)
    every = scored.every_reason()
    declined = 0
    for row, (application, term) in enumerate(zip(applications, terms, strict=True)):
        one = predict.score(application, model=model, term_months=term)
        assert scored.probability_of_default[row] == pytest.approx(
            one.probability_of_default, abs=1e-6
        )
        assert scored.grades[row] == one.grade
        assert scored.interest_rate(row) == one.interest_rate
        assert [r["code"] for r in scored.reasons(row)] == [r["code"] for r in one.reasons]
        assert [r["text"] for r in scored.reasons(row)] == [r["text"] for r in one.reasons]
        assert every[row] == scored.reasons(row)
        for batch_reason, one_reason in zip(scored.reasons(row), one.reasons, strict=True):
            assert batch_reason["contribution"] == pytest.approx(
                one_reason["contribution"], abs=1e-3
            )
        declined += not one.approved
    return declined


def test_a_batch_scores_every_application_as_one_by_one_does(applications):
    terms = [60 if index % 3 == 0 else 36 for index in range(len(applications))]
    declined = _same_as_one_by_one(applications, predict.load_model(), terms)
    assert 0 < declined < len(applications)  # both offers and declines were compared


def test_a_gradient_boosted_model_scores_the_same_in_a_batch(applications, gbm_model):
    assert gbm_model.family == "gbm_monotone"
    sample = applications[:150]
    _same_as_one_by_one(sample, gbm_model, [36] * len(sample))


def test_rows_that_cannot_be_scored_get_the_messages_and_the_rest_still_score(applications):
    good = applications[0]
    bad = [
        dict(good, credit_score=900),
        dict(good, annual_income=""),
        dict(good, amount="lots"),
        dict(good, purpose="yacht"),
        {key: value for key, value in good.items() if key != "monthly_debt"},
        dict(good, revolving_utilization=float("nan")),
    ]
    scored = predict.score_many([good, *bad, good])
    assert set(scored.errors) == set(range(1, len(bad) + 1))
    for row, application in enumerate(bad, start=1):
        with pytest.raises(FeatureError) as refused:
            predict.score(application)
        assert scored.errors[row] == refused.value.errors
        assert scored.grades[row] is None and scored.reasons(row) == []
    for row in (0, len(bad) + 1):
        assert scored.probability_of_default[row] == pytest.approx(
            predict.score(good).probability_of_default, abs=1e-6
        )
