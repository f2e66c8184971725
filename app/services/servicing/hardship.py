"""Hardship plans as pure schedules: payment holiday, re-amortisation, rate reduction, and the
settlement floor (docs/lending-rules.md "Hardship plans").

Every plan starts from a `Position` (the open part of a loan's schedule) and returns the new
installments numbered from 1, the first due on the first open installment's date (a holiday:
`months` later); the caller renumbers them after the loan's existing installments.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from app.services.errors import ValidationFailed
from app.services.money.money import CENT, ZERO
from app.services.servicing import amortization
from app.services.servicing.amortization import DAYS_PER_MONTH, InstallmentPlan

CAPITALISE, SPREAD = "capitalise", "spread"
HOLIDAY_INTEREST = (CAPITALISE, SPREAD)


@dataclass(frozen=True)
class Position:
    """The open part of a loan's schedule when a plan starts."""

    balance: Decimal  # principal outstanding
    annual_rate: Decimal  # percent
    remaining: int  # open installments
    first_due: date  # due date of the first open installment
    due_day: int  # the day of the month payments fall on (the issue day)
    payment: Decimal  # the current monthly payment
    elapsed: int = 0  # schedule months before the first open installment
    first_period_days: int = DAYS_PER_MONTH  # 30/360 days from its accrual start to first_due


@dataclass(frozen=True)
class Plan:
    kind: str
    installments: list[InstallmentPlan]
    capitalised: Decimal = ZERO  # interest added to principal
    deferred_interest: Decimal = ZERO  # holiday interest spread over the installments
    terms: dict = field(default_factory=dict)
    shares: list[Decimal] = field(default_factory=list)  # each installment's part of it

    def share(self, index: int) -> Decimal:
        """The spread holiday interest in installment `index` (0-based) of the plan."""
        return self.shares[index] if self.shares else ZERO

    @property
    def payment(self) -> Decimal:
        return self.installments[0].payment

    @property
    def end_date(self) -> date:
        return self.installments[-1].due_date

    @property
    def total(self) -> Decimal:
        """Everything the borrower pays under the plan (principal and interest)."""
        return sum((plan.payment for plan in self.installments), ZERO)


def holiday_interest(position: Position, months: int, rounding: str) -> Decimal:
    """Interest on the balance over the holiday: the first open period's days plus 30 for
    each further month, one rounding (the schedule's interest convention)."""
    days = position.first_period_days + DAYS_PER_MONTH * (months - 1)
    return amortization.period_interest(
        position.balance, position.annual_rate, days, amortization.interest_rounding(rounding)
    )


def payment_holiday(
    position: Position, months: int, mode: str, *, rounding: str = ROUND_CEILING
) -> Plan:
    """Defer the next `months` installments to the end: the same number of installments,
    starting `months` later; the holiday's interest capitalised or spread (module doc)."""
    if mode not in HOLIDAY_INTEREST:
        raise ValidationFailed({"holiday_interest": "Choose capitalise or spread."})
    interest = holiday_interest(position, months, rounding)
    start = amortization.due_date(position.first_due, months, position.due_day)
    terms = {"months": months, "holiday_interest": mode, "interest": str(interest)}
    if mode == CAPITALISE:
        plans = amortization.schedule(
            position.balance + interest,
            position.annual_rate,
            position.remaining,
            start,
            due_day=position.due_day,
            rounding=rounding,
        )
        return Plan("holiday", plans, capitalised=interest, terms=terms)
    plans = amortization.schedule(
        position.balance,
        position.annual_rate,
        position.remaining,
        start,
        due_day=position.due_day,
        rounding=rounding,
    )
    shares = spread(interest, len(plans))
    spread_plans = [
        InstallmentPlan(
            p.number, p.due_date, p.payment + share, p.principal, p.interest + share, p.balance
        )
        for p, share in zip(plans, shares, strict=True)
    ]
    return Plan("holiday", spread_plans, deferred_interest=interest, terms=terms, shares=shares)


def carry_spread(plan: Plan, unpaid: Decimal) -> Plan:
    """A plan over a spread holiday whose shares are `unpaid`: they stay owed, spread again
    over the plan's installments as a holiday's interest is (`spread`)."""
    if not unpaid:
        return plan
    extra = spread(unpaid, len(plan.installments))
    plans = [
        InstallmentPlan(
            p.number, p.due_date, p.payment + more, p.principal, p.interest + more, p.balance
        )
        for p, more in zip(plan.installments, extra, strict=True)
    ]
    shares = [plan.share(index) + more for index, more in enumerate(extra)]
    terms = {**plan.terms, "carried_interest": str(unpaid)}
    return replace(
        plan, installments=plans, deferred_interest=plan.deferred_interest + unpaid,
        terms=terms, shares=shares,
    )  # fmt: skip


def spread(amount: Decimal, count: int) -> list[Decimal]:
    """`amount` in `count` parts: each amount/count half-even to the cent, the last taking
    the residue; rounded down instead when half-even would leave the last below zero."""
    share = (amount / count).quantize(CENT, rounding=ROUND_HALF_EVEN)
    if share * (count - 1) > amount:
        share = (amount / count).quantize(CENT, rounding="ROUND_FLOOR")
    return [share] * (count - 1) + [amount - share * (count - 1)]


def reamortisation(
    position: Position, term: int, *, max_term: int, rounding: str = ROUND_CEILING
) -> Plan:
    """The balance over `term` new installments at the same rate, from the first open due
    date; the whole loan may last at most `max_term` months and the payment must fall."""
    if term < 1 or position.elapsed + term > max_term:
        most = max_term - position.elapsed
        raise ValidationFailed(
            {
                "term": f"The new term must be between 1 and {most} months (at most {max_term} in all)."
            }
        )
    payment = amortization.level_payment(
        position.balance, position.annual_rate, term, rounding=rounding
    )
    if payment >= position.payment:
        raise ValidationFailed(
            {"term": f"A {term}-month term would not lower the ${position.payment:,.2f} payment."}
        )
    plans = _amortize(position, position.annual_rate, payment, term, rounding)
    return Plan("reamortisation", plans, terms={"term": term})


def rate_reduction(
    position: Position,
    reduced_rate: Decimal,
    months: int,
    *,
    max_months: int,
    rounding: str = ROUND_CEILING,
) -> Plan:
    """`reduced_rate` for the next `months` installments, then the loan's own rate; the loan
    still ends on its original date.

    While reduced, the payment is the level payment of the balance at the reduced rate over
    every remaining installment; when the rate returns, what is left is re-amortised at the
    loan's rate over the installments left (its last absorbs every residue).
    """
    if not 0 <= reduced_rate < position.annual_rate:
        raise ValidationFailed(
            {"reduced_rate": f"Enter a rate from 0 up to below {position.annual_rate}%."}
        )
    if not 1 <= months <= min(max_months, position.remaining):
        most = min(max_months, position.remaining)
        raise ValidationFailed({"months": f"Reduce the rate for 1 to {most} months."})
    n = position.remaining
    low = amortization.level_payment(position.balance, reduced_rate, n, rounding=rounding)
    first = _amortize(position, reduced_rate, low, months, rounding, ends=months == n)
    terms = {"reduced_rate": str(reduced_rate), "months": months}
    if months == n:
        return Plan("rate_reduction", first, terms=terms)
    balance = first[-1].balance
    restart = amortization.due_date(position.first_due, months, position.due_day)
    rest = amortization.schedule(
        balance, position.annual_rate, n - months, restart, due_day=position.due_day,
        rounding=rounding,
    )  # fmt: skip
    renumbered = [
        InstallmentPlan(
            p.number + months, p.due_date, p.payment, p.principal, p.interest, p.balance
        )
        for p in rest
    ]
    return Plan("rate_reduction", first + renumbered, terms=terms)


def _amortize(
    position: Position, rate: Decimal, payment: Decimal, count: int, rounding: str, *, ends=True
) -> list[InstallmentPlan]:
    """`count` installments of `payment` at `rate` from the first open due date (its first
    period as long as it already runs); the last absorbs the residue when it `ends` the loan."""
    interest_rounding = amortization.interest_rounding(rounding)
    balance, plans = position.balance, []
    for index in range(count):
        days = position.first_period_days if index == 0 else DAYS_PER_MONTH
        interest = amortization.period_interest(balance, rate, days, interest_rounding)
        last = index == count - 1 and ends
        principal = balance if last else min(payment - interest, balance)
        if principal < 0:
            raise ValidationFailed({"term": "The payment would not cover the interest."})
        balance -= principal
        due = amortization.due_date(position.first_due, index, position.due_day)
        plans.append(
            InstallmentPlan(index + 1, due, principal + interest, principal, interest, balance)
        )
    return plans


def settlement_floor(payoff: Decimal, percent: Decimal) -> Decimal:
    """The least lump sum that settles a loan: `percent` of the payoff, up to the cent."""
    return (payoff * percent / 100).quantize(CENT, rounding=ROUND_CEILING)
