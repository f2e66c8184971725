"""Level-payment schedules on a declining balance, APR with fees, and payoff quotes."""

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext

from app.services.money.money import CENT, ZERO, cents

MONTHS_PER_YEAR = 12
DAYS_PER_YEAR = 365  # Actual/365 for daily accrual (payoff quotes)
# LendingClub's convention: the level payment rounds up to the cent, so the last installment is
# never the largest. Fineract's is ROUND_HALF_EVEN. LendingPolicy.payment_rounding chooses.
LENDINGCLUB_ROUNDING = ROUND_CEILING


@dataclass(frozen=True)
class InstallmentPlan:
    number: int
    due_date: date
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance: Decimal


@dataclass(frozen=True)
class PayoffQuote:
    principal: Decimal
    interest: Decimal
    fees: Decimal
    total: Decimal
    as_of: date


def monthly_rate(annual_rate_percent: Decimal) -> Decimal:
    """APR / 12 as a fraction, unrounded."""
    return annual_rate_percent / Decimal(100) / MONTHS_PER_YEAR


def level_payment(
    principal: Decimal,
    annual_rate_percent: Decimal,
    months: int,
    multiple: Decimal | None = None,
    *,
    rounding: str = LENDINGCLUB_ROUNDING,
) -> Decimal:
    """The monthly payment P·r / (1 − (1 + r)^−n), rounded to the cent by `rounding` (or
    half-even to the nearest `multiple`, as Fineract's "installment in multiples of")."""
    _check(principal, annual_rate_percent, months)
    rate = monthly_rate(annual_rate_percent)
    if rate == 0:
        raw = principal / months
    else:
        with localcontext() as context:
            context.prec = 34
            raw = principal * rate / (1 - (1 + rate) ** -months)
    if multiple:
        return (raw / multiple).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * multiple
    return raw.quantize(CENT, rounding=rounding)


def add_months(start: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it is shorter."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def due_date(first_due: date, number: int, day: int | None = None) -> date:
    """The due date of installment `number` (from 0): on `day` of its month (default: the first
    due date's day), or that month's last day when it is shorter; it never drifts."""
    month = add_months(first_due.replace(day=1), number)
    day = day or first_due.day
    return month.replace(day=min(day, calendar.monthrange(month.year, month.month)[1]))


def schedule(
    principal: Decimal,
    annual_rate_percent: Decimal,
    months: int,
    first_due: date,
    *,
    due_day: int | None = None,
    rounding: str = LENDINGCLUB_ROUNDING,
    payment_multiple: Decimal | None = None,
    equal_principal: bool = False,
) -> list[InstallmentPlan]:
    """The installments of a loan; the last one absorbs every rounding residue.

    Level payments by default; `equal_principal` repays P/n each month instead (interest on
    the declining balance on top). `due_day` is the day of the month payments fall on (the
    issue day: Jan 31 gives Feb 28, Mar 31, Apr 30); by default the first due date's day.
    """
    if equal_principal:
        _check(principal, annual_rate_percent, months)
        return _equal_principal(principal, annual_rate_percent, months, first_due, due_day)
    payment = level_payment(
        principal, annual_rate_percent, months, payment_multiple, rounding=rounding
    )
    return amortize(
        principal,
        annual_rate_percent,
        payment,
        first_due,
        max_installments=months,
        due_day=due_day,
    )


def schedule_from_issue(
    principal: Decimal,
    annual_rate_percent: Decimal,
    months: int,
    issued_on: date,
    *,
    rounding: str = LENDINGCLUB_ROUNDING,
) -> list[InstallmentPlan]:
    """The schedule of a loan issued on `issued_on`: due a month later, then on that day."""
    return schedule(
        principal,
        annual_rate_percent,
        months,
        add_months(issued_on, 1),
        due_day=issued_on.day,
        rounding=rounding,
    )


def _equal_principal(
    principal, annual_rate_percent, months, first_due, due_day
) -> list[InstallmentPlan]:
    rate = monthly_rate(annual_rate_percent)
    part = cents(principal / months)
    balance, plans = principal, []
    for number in range(1, months + 1):
        interest = cents(balance * rate)
        paying = balance if number == months else part
        balance -= paying
        plans.append(
            InstallmentPlan(
                number,
                due_date(first_due, number - 1, due_day),
                paying + interest,
                paying,
                interest,
                balance,
            )
        )
    return plans


def amortize(
    balance: Decimal,
    annual_rate_percent: Decimal,
    payment: Decimal,
    first_due: date,
    *,
    first_number: int = 1,
    max_installments: int | None = None,
    due_day: int | None = None,
) -> list[InstallmentPlan]:
    """Pay `balance` down with a fixed `payment`: as many installments as it takes.

    Used for new loans (n fixed) and after a prepayment (same payment, fewer installments).
    """
    rate = monthly_rate(annual_rate_percent)
    plans: list[InstallmentPlan] = []
    number = 0
    while balance > 0:
        interest = cents(balance * rate)
        last = max_installments is not None and number == max_installments - 1
        principal = balance if last or payment - interest >= balance else payment - interest
        if principal <= 0:
            raise ValueError("the payment does not cover the interest")
        balance -= principal
        plans.append(
            InstallmentPlan(
                number=first_number + number,
                due_date=due_date(first_due, number, due_day),
                payment=principal + interest,
                principal=principal,
                interest=interest,
                balance=balance,
            )
        )
        number += 1
    return plans


def total_interest(plans: list[InstallmentPlan]) -> Decimal:
    """Interest over the whole schedule (never payment × months)."""
    return sum((plan.interest for plan in plans), ZERO)


def apr(net_disbursed: Decimal, payments: list[Decimal]) -> Decimal:
    """Annual percentage rate (2 places) that equates monthly `payments` with `net_disbursed`.

    The monthly IRR is found by bisection in Decimal; APR = IRR × 12 (US nominal APR).
    """
    if net_disbursed <= 0 or not payments or sum(payments) < net_disbursed:
        raise ValueError("payments must repay at least the amount disbursed")
    low, high = Decimal(0), Decimal(1)
    with localcontext() as context:
        context.prec = 34
        for _ in range(200):
            middle = (low + high) / 2
            present = sum(amount / (1 + middle) ** k for k, amount in enumerate(payments, 1))
            if present > net_disbursed:
                low = middle
            else:
                high = middle
            if high - low < Decimal("1e-15"):
                break
        return (low * MONTHS_PER_YEAR * 100).quantize(CENT)


def apr_with_fee(
    principal: Decimal,
    annual_rate_percent: Decimal,
    months: int,
    fee: Decimal,
    *,
    rounding: str = LENDINGCLUB_ROUNDING,
) -> Decimal:
    """APR of a loan whose origination `fee` is deducted from the proceeds."""
    plans = schedule(principal, annual_rate_percent, months, date(2000, 1, 1), rounding=rounding)
    return apr(principal - fee, [plan.payment for plan in plans])


def accrued_interest(
    principal: Decimal, annual_rate_percent: Decimal, start: date, end: date
) -> Decimal:
    """Simple daily interest on `principal` for the days from `start` to `end` (Actual/365)."""
    days = max((end - start).days, 0)
    return cents(principal * annual_rate_percent / Decimal(100) * days / DAYS_PER_YEAR)


def payoff_quote(
    principal_outstanding: Decimal,
    annual_rate_percent: Decimal,
    accrual_start: date,
    as_of: date,
    *,
    unpaid_interest: Decimal = ZERO,
    unpaid_fees: Decimal = ZERO,
) -> PayoffQuote:
    """What pays the loan off on `as_of`: principal, interest accrued daily since the last due
    date (plus interest already due and unpaid) and unpaid fees."""
    interest = unpaid_interest + accrued_interest(
        principal_outstanding, annual_rate_percent, accrual_start, as_of
    )
    total = principal_outstanding + interest + unpaid_fees
    return PayoffQuote(principal_outstanding, interest, unpaid_fees, total, as_of)


def _check(principal: Decimal, annual_rate_percent: Decimal, months: int) -> None:
    if not isinstance(principal, Decimal) or not isinstance(annual_rate_percent, Decimal):
        raise TypeError("money and rates must be Decimal")
    if principal <= 0 or principal != cents(principal):
        raise ValueError("principal must be a positive amount in whole cents")
    if annual_rate_percent < 0:
        raise ValueError("the rate cannot be negative")
    if months <= 0:
        raise ValueError("the term must be at least one month")
