"""The principal reasons of a score, in words that name the applicant's own numbers.

A factor is named only when it pushes the score toward default by a material amount *and*
the applicant's value lies on its risky side of the typical applicant (`reference`), so an
$8,000 loan is never told its amount is large, nor 15 % debt-to-income that its debts are high,
because of a model's quirk or an average that differs by a cent. The text then says both
numbers: "Debt payments take 38 % of income, above the 13 % typical of approved loans".
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.risk.schema import BY_NAME

# A reason must move the log-odds of default by at least this much (about 5 % on the odds):
# below it the factor is noise, and naming it as a principal reason would mislead.
MATERIAL_LOG_ODDS = 0.05
TYPICAL = "typical of approved loans"


@dataclass(frozen=True)
class Wording:
    template: str  # {value} and {typical} are the applicant's and the typical applicant's
    # the feature back to the number the applicant gave: numpy, so one function serves a
    # value and a column of them, to the same last bit
    shown: Callable
    unit: str  # "{:,.0f}"-style format of that number


def _same(value: float) -> float:
    return value


def _percent(value: float) -> float:
    return value * 100


WORDING = {
    "credit_score": Wording(
        "Credit score {value} is below the {typical} " + TYPICAL, _same, "{:,.0f}"
    ),
    "log_annual_income": Wording(
        "Income of {value} a year is below the {typical} " + TYPICAL, np.exp, "${:,.0f}"
    ),
    "debt_to_income": Wording(
        "Debt payments take {value} of income, above the {typical} " + TYPICAL, _same, "{:,.0f} %"
    ),
    "revolving_utilization": Wording(
        "Credit utilisation of {value} is above the {typical} " + TYPICAL, _same, "{:,.0f} %"
    ),
    "log_inquiries_6m": Wording(
        "{value} credit inquiries in the last 6 months, above the {typical} " + TYPICAL,
        np.expm1,
        "{:,.0f}",
    ),
    "log_public_records": Wording(
        "{value} public records on file, above the {typical} " + TYPICAL, np.expm1, "{:,.0f}"
    ),
    "loan_to_income": Wording(
        "The loan is {value} of income, above the {typical} " + TYPICAL, _percent, "{:,.0f} %"
    ),
    "log_loan_amount": Wording(
        "A loan of {value} is larger than the {typical} " + TYPICAL, np.exp, "${:,.0f}"
    ),
    "revolving_balance_to_income": Wording(
        "Revolving balances are {value} of income, above the {typical} " + TYPICAL,
        _percent,
        "{:,.0f} %",
    ),
}


def reason_list(
    contributions: dict[str, float], features: dict, reference: dict, limit: int = 4
) -> list[dict]:
    """The factors that raised the risk most, worded with the applicant's numbers."""
    named = [
        (contribution, name)
        for name, contribution in contributions.items()
        if contribution >= MATERIAL_LOG_ODDS and on_the_risky_side(name, features, reference)
    ]
    return [
        {"code": name, "text": reason_text(name, features[name], reference.get(name)),
         "contribution": round(contribution, 4)}
        for contribution, name in sorted(named, reverse=True)[:limit]
    ]  # fmt: skip


def reason_text(name: str, value, typical: float | None) -> str:
    """The adverse-action wording of feature `name` at this applicant's `value`."""
    if name == "purpose":
        return f"Loan purpose ({value.replace('_', ' ')}) carries higher risk"
    wording = WORDING.get(name)
    if wording is None or typical is None:
        return BY_NAME[name].reason
    return worded(name, wording.shown(value), wording.shown(typical))


def worded(name: str, shown: float, usual: float) -> str:
    """The wording of numeric feature `name` for numbers already as the applicant gave them."""
    wording = WORDING[name]
    return wording.template.format(**_apart(float(shown), float(usual), wording.unit))


def _apart(value: float, typical: float, unit: str) -> dict[str, str]:
    """Both numbers in `unit`, with as many decimals as it takes for them to differ, so a
    reason never reads "13 % is above the 13 %"."""
    for decimals in range(3):
        fmt = unit.replace(".0f", f".{decimals}f")
        shown = {"value": fmt.format(value), "typical": fmt.format(typical)}
        if shown["value"] != shown["typical"]:
            break
    return shown


def on_the_risky_side(name: str, features: dict, reference: dict) -> bool:
    direction = BY_NAME[name].direction
    if direction == 0 or name not in reference:  # a category: its weight says it all
        return True
    return direction * (features[name] - reference[name]) > 0
