"""The level payment against LendingClub's own: 2,066 real loans and the installment LendingClub
charged (tests/data/lendingclub_installments_sample.csv; provenance in tests/data/README.md).

Nothing here restates our formula: the expected figure is LendingClub's. Every loan we do not
match must be explained by what the file itself shows.
"""

import csv
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from app.services.policy import DEFAULT_POLICY
from app.services.servicing.amortization import level_payment

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "lendingclub_installments_sample.csv"
CENT = Decimal("0.01")


def _loans() -> list[dict]:
    with SAMPLE.open(newline="") as handle:
        return [
            {
                "amount": Decimal(row["loan_amnt"]),
                "term": int(row["term_months"]),
                "rate": Decimal(row["int_rate"]),
                "installment": Decimal(row["installment"]),
                "issued": row["issue_d"],
                "grade": row["sub_grade"],
            }
            for row in csv.DictReader(handle)
        ]


LOANS = _loans()


def _ours(loan: dict, amount=None, rate=None, rounding=None) -> Decimal:
    return level_payment(
        amount if amount is not None else loan["amount"],
        rate if rate is not None else loan["rate"],
        loan["term"],
        rounding=rounding or DEFAULT_POLICY.payment_rounding,
    )


def _funded_below_request(loan: dict) -> bool:
    """LendingClub's installment is that of a smaller amount than the file's (requested) one."""
    per_dollar = _ours(loan, amount=Decimal("10000")) / Decimal("10000")
    return loan["installment"] / per_dollar < loan["amount"] - Decimal("0.50")


def _rate_had_more_decimals(loan: dict) -> bool:
    """Some rate within the published two decimals' rounding (±0.005) gives the installment."""
    return any(
        _ours(loan, rate=loan["rate"] + Decimal(step) / 10000) == loan["installment"]
        for step in range(-50, 51)
    )


# Rows that neither explanation covers, each looked at by hand.
MODIFIED = {
    # A B2 loan of Dec 2013 published at 6.00 %; its installment is that of about 6.6 %: a
    # modified loan whose record kept another rate.
    ("15000", 36, "6", "461.57", "Dec-13", "B2"),
}


def _key(loan: dict) -> tuple:
    return (
        str(loan["amount"]),
        loan["term"],
        str(loan["rate"]),
        str(loan["installment"]),
        loan["issued"],
        loan["grade"],
    )


def test_the_sample_is_the_published_one():
    assert len(LOANS) == 2066
    assert {loan["term"] for loan in LOANS} == {36, 60}


def test_our_payment_is_lendingclubs_on_at_least_98_percent_of_real_loans():
    matched = sum(_ours(loan) == loan["installment"] for loan in LOANS)
    assert matched / len(LOANS) >= Decimal("0.98"), f"{matched} of {len(LOANS)}"


def test_every_loan_we_do_not_match_is_explained_by_the_file():
    unexplained = [
        _key(loan)
        for loan in LOANS
        if _ours(loan) != loan["installment"]
        and not _funded_below_request(loan)
        and not _rate_had_more_decimals(loan)
        and _key(loan) not in MODIFIED
    ]
    assert unexplained == []


def test_half_even_would_match_only_about_half():
    """Why the default rounds up: Fineract's half-even convention is not LendingClub's."""
    half_even = sum(_ours(loan, rounding=ROUND_HALF_EVEN) == loan["installment"] for loan in LOANS)
    assert half_even / len(LOANS) < Decimal("0.6")


@pytest.mark.parametrize(
    ("amount", "rate", "term", "installment"),
    [("10000", "11.44", 36, "329.48"), ("8000", "11.99", 36, "265.68")],
)
def test_first_rows_of_the_sample(amount, rate, term, installment):
    payment = level_payment(Decimal(amount), Decimal(rate), term)
    assert payment == Decimal(installment)
