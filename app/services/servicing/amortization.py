"""Level-payment schedules on a declining balance, APR with fees, and 30/360 interest."""

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext

from app.services.money.money import CENT, ZERO, cents

MONTHS_PER_YEAR = 12
# One day count everywhere: 30/360 (US). A month of the schedule is 30 of 360 days, so the
# interest accrued over a whole period is exactly that installment's interest.
DAYS_PER_YEAR = 360
DAYS_PER_MONTH = 30
# LendingClub's convention: the level payment rounds up to the cent, so the last installment is
# never the largest. Fineract's is ROUND_HALF_EVEN. LendingPolicy.payment_rounding chooses.
LENDINGCLUB_ROUNDING = ROUND_CEILING


def interest_rounding(payment_rounding: str) -> str:
    """How each period's interest rounds under a payment convention.

    With the payment rounded up, interest rounds down: every period then repays at least the
    exact amortization's principal, so the last installment can never exceed the others
    (half-even interest let it, by up to $0.10 in 40 of 3,000 loans). Fineract's half-even
    convention rounds both half-even, as its golden cases are stated.
    """
    return ROUND_FLOOR if payment_rounding == ROUND_CEILING else ROUND_HALF_EVEN


@dataclass(frozen=True)
class InstallmentPlan:
    number: int
    due_date: date
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance: Decimal


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
        rounding=interest_rounding(rounding),
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
    part = cents(principal / months)
    balance, plans = principal, []
    for number in range(1, months + 1):
        interest = period_interest(balance, annual_rate_percent, DAYS_PER_MONTH)
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
    first_period_days: int = DAYS_PER_MONTH,
    rounding: str = ROUND_HALF_EVEN,
) -> list[InstallmentPlan]:
    """Pay `balance` down with a fixed `payment`: as many installments as it takes.

    Used for new loans (n fixed) and after a prepayment (same payment, fewer installments);
    `first_period_days` (30/360) is the first period's length when it began off a due date;
    `rounding` rounds each period's interest (`interest_rounding`).
    """
    plans: list[InstallmentPlan] = []
    number = 0
    while balance > 0:
        days = first_period_days if number == 0 else DAYS_PER_MONTH
        interest = period_interest(balance, annual_rate_percent, days, rounding)
        last = max_installments is not None and number == max_installments - 1
        principal = balance if last or payment - interest >= balance else payment - interest
        if principal <= 0 and number == 0 and first_period_days > DAYS_PER_MONTH:
            principal = ZERO  # a long first period's interest can take the whole payment
        elif principal <= 0:
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

    The monthly IRR is found by Newton's method in Decimal from zero: the present value falls
    and is convex in the rate, so each step stays below the root and moves up to it (a few
    steps, where bisection took fifty); APR = IRR × 12 (US nominal APR).
    """
    if net_disbursed <= 0 or not payments or sum(payments) < net_disbursed:
        raise ValueError("payments must repay at least the amount disbursed")
    rate = Decimal(0)
    with localcontext() as context:
        context.prec = 34
        for _ in range(100):
            value, slope = _present_value(payments, rate)
            step = (value - net_disbursed) / slope
            rate += step
            if step < Decimal("1e-20"):
                break
        return (rate * MONTHS_PER_YEAR * 100).quantize(CENT)


def _present_value(payments: list[Decimal], rate: Decimal) -> tuple[Decimal, Decimal]:
    """The payments' present value at monthly `rate`, and minus its derivative."""
    discount = 1 / (1 + rate)
    factor, value, slope = Decimal(1), Decimal(0), Decimal(0)
    for k, amount in enumerate(payments, 1):
        factor *= discount
        value += amount * factor
        slope += k * amount * factor
    return value, slope * discount


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


def days_30_360(start: date, end: date) -> int:
    """Days from `start` to `end` counted 30/360 (US): every month has 30 days.

    The rules of the US (NASD) basis: the last day of February counts as the 30th when the
    period starts on it (and so does the end, when both are); a 31st counts as the 30th.
    """
    d1, d2 = start.day, end.day
    if _last_of_february(start):
        if _last_of_february(end):
            d2 = 30
        d1 = 30
    if d2 == 31 and d1 >= 30:
        d2 = 30
    d1 = min(d1, 30)
    return (end.year - start.year) * 360 + (end.month - start.month) * 30 + (d2 - d1)


def _last_of_february(day: date) -> bool:
    return day.month == 2 and day.day == calendar.monthrange(day.year, 2)[1]


def period_interest(
    balance: Decimal, annual_rate_percent: Decimal, days: int, rounding: str = ROUND_HALF_EVEN
) -> Decimal:
    """Interest on `balance` for `days` of 30/360, to the cent by `rounding`.

    Multiplied out before the one division, so an exact number of cents stays exact (APR/1200
    is not finite in decimal, and rounding down a hair below 30.98 would give 30.97).
    """
    exact = balance * annual_rate_percent * max(days, 0) / (100 * DAYS_PER_YEAR)
    return exact.quantize(CENT, rounding=rounding)


def accrued_interest(
    interest_due: Decimal,
    interest_settled: Decimal,
    accrual_start: date,
    due: date,
    as_of: date,
) -> Decimal:
    """The part of an installment's interest earned by `as_of`.

    Interest before `accrual_start` is `interest_settled`; the rest accrues in a straight line
    over the 30/360 days from `accrual_start` to the due date, so on the due date it is all
    of `interest_due`, and never more.
    """
    if as_of >= due:
        return interest_due
    span = days_30_360(accrual_start, due)
    if span <= 0:
        return interest_due
    elapsed = min(max(days_30_360(accrual_start, as_of), 0), span)
    return interest_settled + cents((interest_due - interest_settled) * elapsed / span)


def _check(principal: Decimal, annual_rate_percent: Decimal, months: int) -> None:
    if not isinstance(principal, Decimal) or not isinstance(annual_rate_percent, Decimal):
        raise TypeError("money and rates must be Decimal")
    if principal <= 0 or principal != cents(principal):
        raise ValueError("principal must be a positive amount in whole cents")
    if annual_rate_percent < 0:
        raise ValueError("the rate cannot be negative")
    if months <= 0:
        raise ValueError("the term must be at least one month")
