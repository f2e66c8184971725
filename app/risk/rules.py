"""The transparent fallback scorer (ENABLE_ML_SCORING=false): a published points table.

Each rule adds log-odds of default relative to a typical applicant; the sum, through the
logistic function, is the PD. Every number is here, in plain sight, for review.
"""

import math

from app.risk.reasons import reason_list

VERSION = "rules-2026.11"
BASE_LOG_ODDS = math.log(0.13 / 0.87)  # the typical applicant: 13% lifetime default
# feature: (typical value, log-odds per unit above it)
RULES = {
    "credit_score": (710.0, -0.012),  # 60 points lower: about twice the odds
    "debt_to_income": (12.5, 0.012),
    "revolving_utilization": (47.0, 0.006),
    "log_inquiries_6m": (math.log1p(1), 0.40),
    "log_public_records": (0.0, 0.45),
    "loan_to_income": (0.15, 1.2),
    "log_annual_income": (math.log(60000), -0.15),
}
PURPOSE_LOG_ODDS = {
    "small_business": 0.55,
    "educational": 0.25,
    "all_other": 0.1,
    "debt_consolidation": 0.0,
    "home_improvement": 0.0,
    "major_purchase": -0.1,
    "credit_card": -0.4,
}


def probability(features: dict) -> tuple[float, dict[str, float], str]:
    """PD, each rule's contribution in log-odds, and the table's version."""
    contributions = {
        name: (features[name] - typical) * weight for name, (typical, weight) in RULES.items()
    }
    contributions["purpose"] = PURPOSE_LOG_ODDS.get(features["purpose"], 0.0)
    log_odds = BASE_LOG_ODDS + sum(contributions.values())
    return 1 / (1 + math.exp(-log_odds)), contributions, VERSION


def reasons(contributions: dict[str, float], features: dict) -> list[dict]:
    """The rules that added the most risk, in plain words."""
    typical = {name: value for name, (value, _) in RULES.items()}
    return reason_list(contributions, features, typical)
