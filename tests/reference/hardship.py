"""Hardship plans recomputed from docs/lending-rules.md "Hardship plans" alone.

Deliberately simple and independent of `app/`: exact Fractions, a plain loop per plan, one
rounding per stated rounding point. Each function returns rows of (due date, principal,
interest) for the new installments.
"""

import calendar
import math
from datetime import date
from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")


def down(value: Fraction) -> Decimal:
    return (Decimal(math.floor(value * 100)) / 100).quantize(CENT)


def up(value: Fraction) -> Decimal:
    return (Decimal(math.ceil(value * 100)) / 100).quantize(CENT)


def half_even(value: Fraction) -> Decimal:
    return (Decimal(round(value * 100)) / 100).quantize(CENT)


def month_later(first: date, months: int, day: int) -> date:
    index = first.month - 1 + months
    year, month = first.year + index // 12, index % 12 + 1
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def interest(balance: Decimal, rate: Decimal, days: int) -> Decimal:
    """Balance × rate% × days / 360, down to the cent (the payment rounds up)."""
    return down(Fraction(balance) * Fraction(rate) / 100 * days / 360)


def payment(balance: Decimal, rate: Decimal, months: int) -> Decimal:
    """The exact level payment, up to the cent."""
    r = Fraction(rate) / 1200
    if r == 0:
        return up(Fraction(balance) / months)
    return up(Fraction(balance) * r / (1 - (1 + r) ** -months))


def level(balance, rate, months, first, day, first_days=30, pay=None, absorb=True):
    """`months` rows of a level payment; the last absorbs the residue when `absorb`."""
    pay = payment(balance, rate, months) if pay is None else pay
    rows = []
    for index in range(months):
        i = interest(balance, rate, first_days if index == 0 else 30)
        p = balance if index == months - 1 and absorb else min(pay - i, balance)
        balance -= p
        rows.append((month_later(first, index, day), p, i))
    return rows, balance


def holiday(balance, rate, remaining, first, day, months, mode, first_days=30):
    held = interest(balance, rate, first_days + 30 * (months - 1))
    start = month_later(first, months, day)
    if mode == "capitalise":
        return level(balance + held, rate, remaining, start, day)[0], held
    rows = level(balance, rate, remaining, start, day)[0]
    share = half_even(Fraction(held) / remaining)
    if share * (remaining - 1) > held:
        share = down(Fraction(held) / remaining)
    extra = [share] * (remaining - 1) + [held - share * (remaining - 1)]
    return [(d, p, i + e) for (d, p, i), e in zip(rows, extra, strict=True)], held


def reamortise(balance, rate, term, first, day, first_days=30):
    return level(balance, rate, term, first, day, first_days)[0]


def reduce_rate(balance, rate, low_rate, months, remaining, first, day, first_days=30):
    low = payment(balance, low_rate, remaining)
    if months == remaining:
        return level(balance, low_rate, remaining, first, day, first_days, low)[0]
    rows, left = level(balance, low_rate, months, first, day, first_days, low, absorb=False)
    rest, _ = level(left, rate, remaining - months, month_later(first, months, day), day)
    return rows + rest


def spread_payoff(balance, rate, remaining, first, day, months, paid, on):
    """A spread holiday, then `paid` new installments paid on their due dates, then the loan
    paid off on `on` (inside the next period). The holiday's interest is earned in full, so the
    payoff asks the principal left, the running period's regular interest accrued to the day
    (straight line over its 30/360 days, half-even to the cent) and every spread share not yet
    paid. Returns (principal, interest, regular interest paid over the plan, holiday interest).
    """
    from tests.reference.servicer import days_360

    rows, held = holiday(balance, rate, remaining, first, day, months, "spread")
    plain = level(balance, rate, remaining, month_later(first, months, day), day)[0]
    shares = [i - r for (_, _, i), (_, _, r) in zip(rows, plain, strict=True)]
    principal = balance - sum(p for _, p, _ in rows[:paid])
    start, due = rows[paid - 1][0], rows[paid][0]
    accrued = half_even(Fraction(plain[paid][2]) * days_360(start, on) / days_360(start, due))
    regular = sum(i for _, _, i in plain[:paid]) + accrued
    return principal, accrued + held - sum(shares[:paid]), regular, held
