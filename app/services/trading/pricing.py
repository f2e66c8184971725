"""What a note is worth on a given day: its accrued interest, the asking price, the yield.

Plain values in, plain values out. A note's share of its loan is its amount over the loan's
funded amount, the weight every payment is shared out by.

* accrued interest: interest the loan owes for the past that it has not paid, i.e. the unpaid
  interest of installments already due plus the running installment's interest earned to the
  day (30/360, `amortization.accrued_interest`) plus the unpaid spread holiday interest of the
  installments not yet due (earned during the holiday: the payoff asks it in full), times the
  note's share, to the cent;
* price: (principal outstanding + accrued interest) × (1 + markup), to the cent (half even);
* trading fee: the seller pays `percent` of the price, to the cent (half even);
* yield to maturity: the annual rate (monthly compounding, × 12) at which the note's share of
  the remaining schedule, net of the servicing fee, is worth the price today. Amounts already
  past due are assumed paid with the next installment.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from app.services.money.money import ZERO, cents
from app.services.servicing import amortization

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class OpenInstallment:
    """What pricing needs of one unpaid installment."""

    due_date: date
    principal_left: Decimal
    interest_due: Decimal
    interest_paid: Decimal
    interest_settled: Decimal
    accrual_start: date
    deferred_interest: Decimal = ZERO  # a spread holiday's share in interest_due, paid first


@dataclass(frozen=True)
class Quote:
    principal: Decimal
    accrued_interest: Decimal
    markup_percent: Decimal
    premium: Decimal  # price - principal - accrued (negative: a discount)
    price: Decimal
    fee: Decimal

    @property
    def proceeds(self) -> Decimal:
        """What the seller receives."""
        return self.price - self.fee


def note_share(note_amount: Decimal, funded_amount: Decimal) -> Decimal:
    return note_amount / funded_amount


def loan_accrued_interest(installments: list[OpenInstallment], as_of: date) -> Decimal:
    """Interest the loan has earned and not paid by `as_of` (exact, before any share)."""
    owed, running_seen = ZERO, False
    for item in installments:
        if item.due_date <= as_of:
            owed += item.interest_due - item.interest_paid
            continue
        share = item.deferred_interest
        if running_seen:  # later ones have not begun: only their spread shares are earned
            owed += share - min(item.interest_paid, share)
            continue
        running_seen = True  # the running installment: its share and its interest to the day
        earned = share + amortization.accrued_interest(
            item.interest_due - share,
            max(item.interest_settled - share, ZERO),
            item.accrual_start,
            item.due_date,
            as_of,
        )
        owed += max(earned - item.interest_paid, ZERO)
    return owed


def quote(
    principal: Decimal, accrued: Decimal, markup_percent: Decimal, fee_percent: Decimal
) -> Quote:
    price = cents((principal + accrued) * (1 + markup_percent / HUNDRED))
    return Quote(
        principal=principal,
        accrued_interest=accrued,
        markup_percent=markup_percent,
        premium=price - principal - accrued,
        price=price,
        fee=cents(price * fee_percent / HUNDRED),
    )


def note_quote(
    *,
    principal: Decimal,
    note_amount: Decimal,
    funded_amount: Decimal,
    installments: list[OpenInstallment],
    as_of: date,
    markup_percent: Decimal,
    fee_percent: Decimal,
) -> Quote:
    """The asking price of one note today. The note's part of the loan's accrued interest is
    one exact product and one division, rounded once, as `note_quote` in SQL makes it."""
    owed = loan_accrued_interest(installments, as_of)
    accrued = cents(owed * note_amount / funded_amount)
    return quote(principal, accrued, markup_percent, fee_percent)


def note_cash_flows(
    installments: list[OpenInstallment],
    share: Decimal,
    servicing_fee_percent: Decimal,
    as_of: date,
) -> list[tuple[date, Decimal]]:
    """What the note should still receive, net of the servicing fee, and when."""
    future = [item.due_date for item in installments if item.due_date > as_of]
    catch_up = future[0] if future else amortization.add_months(as_of, 1)
    keep = 1 - servicing_fee_percent / HUNDRED
    flows = []
    for item in installments:
        left = item.principal_left + item.interest_due - item.interest_paid
        if left > 0:
            flows.append((max(item.due_date, catch_up), left * share * keep))
    return flows


def yield_to_maturity(
    price: Decimal, flows: list[tuple[date, Decimal]], as_of: date
) -> Decimal | None:
    """The annual yield in percent (2 places) at which `flows` are worth `price` on `as_of`;
    None when there is nothing left to receive."""
    if not flows or price <= 0:
        return None
    months = [
        (Decimal(amortization.days_30_360(as_of, day)) / amortization.DAYS_PER_MONTH, amount)
        for day, amount in flows
    ]
    with localcontext() as context:
        context.prec = 24
        rate = _solve(price, months)
    if rate is None:
        return None
    return (rate * 12 * HUNDRED).quantize(Decimal("0.01"))


def _solve(price: Decimal, months: list[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Newton's method on the monthly rate, kept inside (-99 %, 1,000 %) a month by halving."""
    low, high, rate = Decimal("-0.99"), Decimal("10"), Decimal("0.01")
    for _ in range(100):
        value, slope = _present_value(months, rate)
        gap = value - price
        if abs(gap) < Decimal("1e-12"):
            return rate
        if gap > 0:
            low = rate
        else:
            high = rate
        step = rate - gap / slope if slope else (low + high) / 2
        rate = step if low < step < high else (low + high) / 2
    return rate if high - low < Decimal("1e-9") else None


def _present_value(months, rate: Decimal) -> tuple[Decimal, Decimal]:
    """The flows' value at `rate`, and its derivative in the rate."""
    log = (1 + rate).ln()
    value = slope = ZERO
    for t, amount in months:
        discounted = amount * (-t * log).exp()
        value += discounted
        slope -= t * discounted / (1 + rate)
    return value, slope
