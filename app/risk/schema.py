"""The feature contract between the application form, training and scoring (order matters)."""

from dataclasses import dataclass

PURPOSES = (
    "debt_consolidation",
    "credit_card",
    "home_improvement",
    "major_purchase",
    "small_business",
    "educational",
    "all_other",
)

# The platform's purposes, mapped onto the training data's categories.
PLATFORM_PURPOSE = {
    "debt_consolidation": "debt_consolidation",
    "credit_card": "credit_card",
    "home_improvement": "home_improvement",
    "business": "small_business",
    "major_purchase": "major_purchase",
    "education": "educational",
    "medical": "all_other",
    "auto": "major_purchase",
    "other": "all_other",
}


@dataclass(frozen=True)
class Feature:
    name: str
    direction: int  # +1: more means riskier; -1: more means safer
    reason: str  # the adverse-action text when this feature raises the risk


NUMERIC = (
    Feature("credit_score", -1, "Credit score is low"),
    Feature("log_annual_income", -1, "Income is low"),
    Feature("debt_to_income", +1, "Debt payments are high compared with income"),
    Feature("revolving_utilization", +1, "Credit utilisation is high"),
    Feature("log_inquiries_6m", +1, "Too many recent credit inquiries"),
    Feature("log_public_records", +1, "Public records on file"),
    Feature("loan_to_income", +1, "Loan amount is high compared with income"),
    Feature("log_loan_amount", +1, "Loan amount is large"),
    Feature("revolving_balance_to_income", +1, "Revolving balances are high compared with income"),
)
CATEGORICAL = (Feature("purpose", 0, "Loan purpose carries higher risk"),)
FEATURES: tuple[str, ...] = tuple(f.name for f in NUMERIC + CATEGORICAL)
BY_NAME = {f.name: f for f in NUMERIC + CATEGORICAL}

# Collected and logged, not scored: on the training data their coefficients came out with the
# wrong sign and near zero, and dropping them costs no AUC.
MONITORED = ("credit_history_months", "delinquencies_2y")
