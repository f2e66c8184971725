"""The fairness audit of our own pipeline, held to fairlearn's group metrics and to scipy's
bootstrap: the figures the model card shows are not our arithmetic marking itself."""

import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from scipy.stats import bootstrap

from app.risk import fairness


@pytest.fixture(scope="module")
def german():
    inputs, y, groups = fairness.load()
    pd_oof, approved = fairness.out_of_fold(inputs, y)
    return inputs, y, groups, pd_oof, approved


@pytest.fixture(scope="module")
def report():
    return fairness.audit(rounds=2000)


def test_protected_attributes_never_reach_the_model(german, report):
    inputs = german[0]
    for column in ("personal_status_and_sex", "age_in_years", "foreign_worker"):
        assert column not in inputs.columns
    assert {g["attribute"] for g in report["groups"]} == {"sex", "age", "foreign worker"}
    assert report["overall_auc"] > 0.7  # a real model, not noise: Hofmann's data ranks well


def test_the_measures_agree_with_fairlearn(german, report):
    _, y, groups, _, approved = german
    good = 1 - y  # the favourable true outcome: repaid
    for result in report["groups"]:
        frame = MetricFrame(
            metrics={
                "selection": selection_rate,
                "tpr": true_positive_rate,
                "fpr": false_positive_rate,
            },
            y_true=good,
            y_pred=approved.astype(int),
            sensitive_features=groups[result["attribute"]],
        ).by_group
        protected, reference = frame.loc[result["protected"]], frame.loc[result["reference"]]
        assert result["adverse_impact_ratio"] == pytest.approx(
            protected["selection"] / reference["selection"], abs=1e-4
        )
        assert result["equal_opportunity_difference"] == pytest.approx(
            protected["tpr"] - reference["tpr"], abs=1e-4
        )
        average_odds = (
            (protected["tpr"] - reference["tpr"]) + (protected["fpr"] - reference["fpr"])
        ) / 2
        assert result["average_odds_difference"] == pytest.approx(average_odds, abs=1e-4)


def test_the_interval_agrees_with_scipys_bootstrap_and_decides_the_flag(german, report):
    _, _, groups, _, approved = german
    for result in report["groups"]:
        is_protected = groups[result["attribute"]] == result["protected"]

        def ratio(in_group, approval, axis=-1):
            rate = (in_group & approval).sum(axis) / in_group.sum(axis)
            other = (~in_group & approval).sum(axis) / (~in_group).sum(axis)
            return rate / other

        theirs = bootstrap(
            (is_protected, approved), ratio, paired=True, vectorized=True,
            n_resamples=2000, method="percentile", random_state=7,
        ).confidence_interval  # fmt: skip
        low, high = result["ci95"]["adverse_impact_ratio"]
        assert low == pytest.approx(theirs.low, abs=0.02)
        assert high == pytest.approx(theirs.high, abs=0.02)
        assert low <= result["adverse_impact_ratio"] <= high
        assert result["flagged"] == (low < 0.80)


def test_calibration_is_reported_within_each_group(german, report):
    _, y, groups, pd_oof, _ = german
    age = next(g for g in report["groups"] if g["attribute"] == "age")
    young = groups["age"] == "under 25"
    figures = age["by_group"]["under 25"]
    assert figures["mean_pd"] == pytest.approx(pd_oof[young].mean(), abs=1e-4)
    assert figures["bad_rate"] == pytest.approx(y[young].mean(), abs=1e-4)
    assert figures["calibration_gap"] == pytest.approx(
        pd_oof[young].mean() - y[young].mean(), abs=1e-4
    )


def test_every_result_has_a_plain_sentence(report):
    for result in report["groups"]:
        sentence = result["sentence"]
        assert f"{result['adverse_impact_ratio']:.2f} times the rate" in sentence
        assert ("flagged for review" in sentence) == result["flagged"]
