"""Application facts → model features, the same way for training and for scoring."""

import math
from collections.abc import Mapping
from decimal import Decimal

from app.risk.schema import FEATURES, PLATFORM_PURPOSE, PURPOSES


class FeatureError(ValueError):
    """An application the model cannot score; `errors` maps fields to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


RANGES = {  # field: (minimum, maximum)
    "amount": (100, 1_000_000),
    "annual_income": (1, 100_000_000),
    "monthly_debt": (0, 10_000_000),
    "credit_score": (300, 850),
    "revolving_utilization": (0, 200),
    "revolving_balance": (0, 100_000_000),
    "inquiries_6m": (0, 100),
    "public_records": (0, 100),
    "credit_history_months": (0, 1200),
    "delinquencies_2y": (0, 100),
}
REQUIRED = (
    "amount",
    "annual_income",
    "monthly_debt",
    "credit_score",
    "revolving_utilization",
    "revolving_balance",
    "inquiries_6m",
    "public_records",
    "purpose",
)


def build_features(application: Mapping) -> dict[str, float | str]:
    """The model's features from an application; raises FeatureError naming each bad field."""
    values, errors = {}, {}
    for field in REQUIRED:
        if application.get(field) in (None, ""):
            errors[field] = "is required"
    for field, (low, high) in RANGES.items():
        raw = application.get(field)
        if raw in (None, ""):
            continue
        try:
            number = float(Decimal(str(raw)))
        except (ArithmeticError, ValueError):
            errors[field] = "must be a number"
            continue
        if not math.isfinite(number) or not low <= number <= high:
            errors[field] = f"must be between {low:,} and {high:,}"
        values[field] = number
    purpose = PLATFORM_PURPOSE.get(str(application.get("purpose")), application.get("purpose"))
    if application.get("purpose") not in (None, "") and purpose not in PURPOSES:
        errors["purpose"] = f"must be one of {', '.join(sorted(PLATFORM_PURPOSE))}"
    if errors:
        raise FeatureError(errors)
    features = derive(values)
    features["purpose"] = purpose
    return {name: features[name] for name in FEATURES}


def derive(values: Mapping, log=math.log, log1p=math.log1p) -> dict:
    """The model's numeric features from an application's numbers: one formula for a single
    application (floats) and for a batch (numpy columns, given numpy's log and log1p)."""
    income = values["annual_income"]
    return {
        "credit_score": values["credit_score"],
        "log_annual_income": log(income),
        "debt_to_income": values["monthly_debt"] * 12 / income * 100,
        "revolving_utilization": values["revolving_utilization"],
        "log_inquiries_6m": log1p(values["inquiries_6m"]),
        "log_public_records": log1p(values["public_records"]),
        "loan_to_income": values["amount"] / income,
        "log_loan_amount": log(values["amount"]),
        "revolving_balance_to_income": values["revolving_balance"] / income,
    }


def application_from_lendingclub(row: Mapping) -> dict:
    """A platform-shaped application from one row of the LendingClub 2007–2010 file.

    The amount is recovered from the 36-month annuity (installment, int.rate); the rate
    itself is never a feature.
    """
    monthly_rate = float(row["int.rate"]) / 12
    annuity = float(row["installment"]) * (1 - (1 + monthly_rate) ** -36) / monthly_rate
    amount = (
        round(annuity / 25) * 25
    )  # LendingClub amounts are whole $25s; this undoes cent rounding
    income = math.exp(float(row["log.annual.inc"]))
    return {
        "amount": amount,
        "annual_income": round(income, 2),
        "monthly_debt": round(float(row["dti"]) * income / 12 / 100, 2),
        "credit_score": float(row["fico"]),
        "revolving_utilization": float(row["revol.util"]),
        "revolving_balance": float(row["revol.bal"]),
        "inquiries_6m": float(row["inq.last.6mths"]),
        "public_records": float(row["pub.rec"]),
        "purpose": row["purpose"],
        "credit_history_months": float(row["days.with.cr.line"]) / 30.4375,
        "delinquencies_2y": float(row["delinq.2yrs"]),
    }
