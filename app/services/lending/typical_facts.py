"""Credit facts for a request that does not carry them: the person's own where known, else
typical values, and a list of what was assumed.

The original design's clients (its `loans.csv`, `POST /api/loans/create`, `POST
/api/ml/assess-risk`) send an amount, a term, a purpose and at most income and a credit score;
our model decides on ten facts. The missing ones are the medians of LendingClub's approved
applications, so an unknown borrower is scored as a typical one, and the answer says so.
"""

from decimal import ROUND_HALF_UP, Decimal

from app.models import CREDIT_FACTS

# Medians of LendingClub's 6,158 approved 2007-2010 applications (app/risk/data), the same
# conversion the model was trained on; tests recompute them from the file.
TYPICAL = {
    "annual_income": Decimal("56400.00"),
    "debt_to_income": Decimal("0.125"),  # monthly debt = income x this / 12
    "credit_score": 712,
    "credit_history_months": 139,
    "revolving_balance": Decimal("8826.50"),
    "revolving_utilization": Decimal("44.7"),
    "inquiries_6m": 1,
    "delinquencies_2y": 0,
    "public_records": 0,
}
ALWAYS_ASSUMED = (
    "monthly_debt",
    "credit_history_months",
    "revolving_balance",
    "revolving_utilization",
    "inquiries_6m",
    "delinquencies_2y",
    "public_records",
)


def credit_facts(annual_income: Decimal | None, credit_score: int | None) -> tuple[dict, list[str]]:
    """(the ten facts in `CREDIT_FACTS`, the names of those assumed at typical values)."""
    assumed = [] if annual_income else ["annual_income"]
    assumed += [] if credit_score else ["credit_score"]
    income = annual_income or TYPICAL["annual_income"]
    facts = {
        "annual_income": income,
        "monthly_debt": (income * TYPICAL["debt_to_income"] / 12).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        ),
        "credit_score": credit_score or TYPICAL["credit_score"],
        **{name: TYPICAL[name] for name in ALWAYS_ASSUMED if name != "monthly_debt"},
    }
    return {name: facts[name] for name in CREDIT_FACTS}, assumed + list(ALWAYS_ASSUMED)
