"""A reference for collections, written from docs/lending-rules.md ("Collections") alone.

Deliberately simple and independent of `app/`: the timeline as dates, and a recovery's agency fee
and pro-rata split in exact Fractions.
"""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")


def half_even_cents(value: Fraction) -> Decimal:
    return (Decimal(round(value * 100)) / 100).quantize(CENT)  # round() is half-even


def timeline_days(due_dates: list[date], first_missed: date, steps, charge_off_day: int):
    """(step name, date) the borrower who never pays meets: a reminder `-day` days before every
    due date up to the charge-off, and each later step `day` days after the first missed due date.
    `steps`: (day, name) pairs."""
    charge_off_on = first_missed + timedelta(days=charge_off_day)
    wanted = set()
    for day, name in steps:
        if day < 0:
            wanted |= {
                (name, due + timedelta(days=day))
                for due in due_dates
                if due + timedelta(days=day) <= charge_off_on
            }
        else:
            wanted.add((name, first_missed + timedelta(days=day)))
    wanted.add(("charge_off", charge_off_on))
    return wanted


def split(total_to_date: Decimal, weights: dict[int, Decimal], paid: dict[int, Decimal]):
    """This round's cents of each holder: exact cumulative pro-rata share floored to the cent,
    leftover cents to the largest remainders, ties to the lowest id."""
    weight_sum = sum(Fraction(w) for w in weights.values())
    exact = {k: Fraction(total_to_date) * Fraction(w) / weight_sum for k, w in weights.items()}
    floors = {k: Fraction(int(v * 100), 100) for k, v in exact.items()}  # v >= 0: int() floors
    shares = {k: floors[k] - Fraction(paid.get(k, 0)) for k in weights}
    leftover = round((Fraction(total_to_date) - sum(floors.values())) * 100)
    order = sorted(weights, key=lambda k: (-(exact[k] - floors[k]), k))
    for k in order[:leftover]:
        shares[k] += Fraction(1, 100)
    return {k: Decimal(v.numerator * 100 // v.denominator) / 100 for k, v in shares.items()}


def recovery(amount: Decimal, fee_percent: Decimal, servicing_percent: Decimal, weights, before):
    """One recovery: the agency fee on the whole amount, then gross and fee each split pro rata
    (cumulatively: `before` holds each note's earlier (recovery, agency fee)); each note pays
    the servicing fee on what it keeps. Returns {note: (recovery, agency fee, servicing fee,
    cash to the lender)}."""
    fee = half_even_cents(Fraction(amount) * Fraction(fee_percent) / 100)
    paid_gross = {k: v[0] for k, v in before.items()}
    paid_fee = {k: v[1] for k, v in before.items()}
    gross = split(sum(paid_gross.values(), Decimal(0)) + amount, weights, paid_gross)
    fees = split(sum(paid_fee.values(), Decimal(0)) + fee, weights, paid_fee)
    result = {}
    for k in weights:
        kept = gross[k] - fees[k]
        servicing = half_even_cents(Fraction(kept) * Fraction(servicing_percent) / 100)
        result[k] = (gross[k], fees[k], servicing, kept - servicing)
    return result
