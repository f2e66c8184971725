"""PD → grade and sub-grade (versioned table), risk-based rate and origination fee."""

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

GRADE_TABLE_VERSION = "grades-2026.11"
# Lifetime (36-month) PD cut points; at or above DECLINE_PD the application is declined.
GRADE_BANDS = (
    ("A", 0.02, 0.08),
    ("B", 0.08, 0.12),
    ("C", 0.12, 0.17),
    ("D", 0.17, 0.25),
    ("E", 0.25, 0.40),
)
DECLINE_PD = 0.40
ORIGINATION_FEE_PERCENT = {
    "A": Decimal("1"),
    "B": Decimal("3"),
    "C": Decimal("4"),
    "D": Decimal("5"),
    "E": Decimal("6"),
}


@dataclass(frozen=True)
class Pricing:
    """Risk-based pricing: APR = (cost of funds + operating cost + margin + annual expected
    loss) / (1 − annual PD), rounded up to 0.25 % and capped."""

    cost_of_funds: float = 0.05
    operating_cost: float = 0.02
    margin: float = 0.02
    loss_given_default: float = 0.90
    step_percent: Decimal = Decimal("0.25")
    cap_percent: Decimal = Decimal("35.99")


PRICING = Pricing()


def sub_grade(pd: float) -> str | None:
    """A1 … E5 from a lifetime PD (5 equal log-odds steps per band); None means decline."""
    if pd >= DECLINE_PD:
        return None
    for grade, low, high in GRADE_BANDS:
        if pd < high:
            if pd < low:
                return f"{grade}1"
            step = (_logit(high) - _logit(low)) / 5
            return f"{grade}{min(5, int((_logit(pd) - _logit(low)) // step) + 1)}"
    return None


SUB_GRADES = tuple(f"{band[0]}{step}" for band in GRADE_BANDS for step in range(1, 6))


def top_pd(grade: str) -> float:
    """The highest lifetime PD inside sub-grade `grade` (its step's upper edge): a grade set
    by a person is priced for the most risk the grade admits."""
    letter, step = grade[0], int(grade[1])
    _, low, high = next(band for band in GRADE_BANDS if band[0] == letter)
    width = (_logit(high) - _logit(low)) / 5
    return 1 / (1 + math.exp(-(_logit(low) + step * width)))


def rate_for_sub_grade(grade: str, term_months: int, pricing: "Pricing" = PRICING) -> Decimal:
    """The rate of sub-grade `grade`, priced at its top PD (within the cap for every grade)."""
    return interest_rate(top_pd(grade), term_months, pricing)


def annual_pd(lifetime_pd: float, term_months: int) -> float:
    """1 − (1 − PD)^(12/term)."""
    return 1 - (1 - lifetime_pd) ** (12 / term_months)


def apr_percent(lifetime_pd, term_months, pricing: Pricing = PRICING):
    """The unrounded APR in percent for this PD: a float, or an array for arrays of PDs and
    terms (the batch scorer prices with this same formula)."""
    yearly = annual_pd(lifetime_pd, term_months)
    return (
        (
            pricing.cost_of_funds
            + pricing.operating_cost
            + pricing.margin
            + yearly * pricing.loss_given_default
        )
        / (1 - yearly)
        * 100
    )


def interest_rate(
    lifetime_pd: float, term_months: int = 36, pricing: Pricing = PRICING
) -> Decimal | None:
    """The APR in percent for this PD, or None when it would exceed the cap."""
    apr = apr_percent(lifetime_pd, term_months, pricing)
    rate = (Decimal(str(apr)) / pricing.step_percent).quantize(Decimal(1), rounding=ROUND_CEILING)
    rate = rate * pricing.step_percent
    return None if rate > pricing.cap_percent else rate.quantize(Decimal("0.001"))


def origination_fee_percent(grade: str) -> Decimal:
    """Origination fee (percent of the amount, deducted from proceeds) by grade."""
    return ORIGINATION_FEE_PERCENT[grade[0]]


def _logit(p: float) -> float:
    return math.log(p / (1 - p))
