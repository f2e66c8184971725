"""Rank listed loans for a lender's preferences, with a match score and the reasons for it."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from app.risk import grading

TOLERANCE_GRADES = {"conservative": "AB", "balanced": "ABCD", "aggressive": "ABCDE"}


@dataclass(frozen=True)
class Match:
    loan_id: int
    score: int  # 0-100
    reasons: list[str]
    expected_return_percent: Decimal


def match(preferences: Mapping, loans: Iterable[Mapping], limit: int = 50) -> list[Match]:
    """Loans that pass the lender's filters, best match first.

    Hard filters: terms, purposes, grades and a note size the listing can still take.
    The score rewards expected return (rate minus annual expected loss), a grade inside
    the risk tolerance, and listings close to funding.
    """
    tolerance = TOLERANCE_GRADES.get(preferences.get("risk_tolerance", "balanced"), "ABCD")
    matches = [m for loan in loans if (m := _score(preferences, tolerance, loan)) is not None]
    return sorted(matches, key=lambda m: (-m.score, m.loan_id))[:limit]


def _score(preferences: Mapping, tolerance: str, loan: Mapping) -> Match | None:
    grade = loan["grade"]
    if not _passes(preferences, loan):
        return None
    annual_loss = Decimal(
        str(
            round(
                grading.annual_pd(float(loan["probability_of_default"]), loan["term_months"])
                * 0.9
                * 100,
                2,
            )
        )
    )
    expected = Decimal(loan["interest_rate"]) - annual_loss
    score, reasons = 50, []
    if grade[0] in tolerance:
        score += 20
        reasons.append(
            f"Grade {grade} fits a {preferences.get('risk_tolerance', 'balanced')} risk tolerance"
        )
    else:
        score -= 20
        reasons.append(
            f"Grade {grade} is riskier than your {preferences.get('risk_tolerance')} tolerance"
        )
    score += int(min(max(expected, Decimal(0)), Decimal(12)) * 2)
    reasons.append(
        f"Pays {Decimal(loan['interest_rate']):.2f}% with an expected loss of "
        f"{annual_loss:.2f}% a year"
    )
    funded = Decimal(str(loan.get("percent_funded", 0)))
    if funded >= 75:
        score += 6
        reasons.append(f"{funded:.0f}% funded: likely to issue soon")
    if preferences.get("terms"):
        reasons.append(f"{loan['term_months']}-month term you prefer")
    if preferences.get("purposes"):
        reasons.append(f"Purpose you chose: {loan['purpose'].replace('_', ' ')}")
    return Match(loan["id"], max(0, min(100, score)), reasons, expected.quantize(Decimal("0.01")))


def _passes(preferences: Mapping, loan: Mapping) -> bool:
    if preferences.get("terms") and loan["term_months"] not in preferences["terms"]:
        return False
    if preferences.get("purposes") and loan["purpose"] not in preferences["purposes"]:
        return False
    if preferences.get("grades") and loan["grade"][0] not in preferences["grades"]:
        return False
    minimum = Decimal(str(preferences.get("min_note_amount", "25")))
    return Decimal(str(loan["amount_left"])) >= minimum
