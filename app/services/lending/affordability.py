"""Affordability: can the applicant carry the new payment beside the debts they already have?

Debt-to-income counts the monthly debts the applicant declared plus the new loan's level
payment, against gross monthly income. Above `LendingPolicy.max_debt_to_income_percent` the
request is not offered as asked: the counter-offer is the largest amount (in note units, at the
requested term or a longer one) that fits, priced afresh, since a smaller loan carries less risk;
with none from the smallest loan up, the application is declined for it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import amortization

# A price: the rate in percent the lender offers this amount over this term, None for none.
Pricer = Callable[[Decimal, int], Decimal | None]


@dataclass(frozen=True)
class Terms:
    amount: Decimal
    term_months: int
    rate: Decimal
    payment: Decimal
    debt_to_income: Decimal  # percent, with this payment, to two places (for display)
    within_limit: bool  # decided on the exact ratio: 40.004 % is over a 40 % limit


@dataclass(frozen=True)
class Affordability:
    annual_income: Decimal
    monthly_debt: Decimal
    limit_percent: Decimal
    requested: Terms
    counter: Terms | None  # the largest loan that fits, when the request does not

    @property
    def fits(self) -> bool:
        return self.requested.within_limit

    def figures(self) -> dict:
        """The numbers as JSON values, for the notice and the page."""
        return {
            "annual_income": str(self.annual_income),
            "monthly_debt": str(self.monthly_debt),
            "limit_percent": str(self.limit_percent),
            "requested": _terms_figures(self.requested),
            "counter": _terms_figures(self.counter) if self.counter else None,
        }


def debt_to_income(monthly_debt: Decimal, payment: Decimal, annual_income: Decimal) -> Decimal:
    """(Monthly debts + the new payment) × 12 / annual income, in percent to two places."""
    ratio = (monthly_debt + payment) * 12 * 100 / annual_income
    return ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def assess(
    annual_income: Decimal,
    monthly_debt: Decimal,
    amount: Decimal,
    term_months: int,
    rate: Decimal,
    price: Pricer,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> Affordability:
    """Whether the requested loan at `rate` fits, and if not the counter-offer that does."""
    requested = _terms(annual_income, monthly_debt, amount, term_months, rate, policy)
    check = Affordability(
        annual_income, monthly_debt, policy.max_debt_to_income_percent, requested, None
    )
    if check.fits:
        return check
    counter = largest_fitting(annual_income, monthly_debt, amount, term_months, price, policy)
    return Affordability(
        annual_income, monthly_debt, policy.max_debt_to_income_percent, requested, counter
    )


def largest_fitting(
    annual_income: Decimal,
    monthly_debt: Decimal,
    amount: Decimal,
    term_months: int,
    price: Pricer,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> Terms | None:
    """The largest loan up to `amount` that fits, at the requested term or a longer one
    (at equal amounts the shorter term, which costs less interest); None if none does."""
    best = None
    for term in sorted(t for t in policy.loan_terms if t >= term_months):
        found = None
        if term > term_months:  # the whole amount, over longer
            found = _fitting(annual_income, monthly_debt, amount, term, price, policy)
        found = found or _largest_at(annual_income, monthly_debt, amount, term, price, policy)
        if found and (best is None or found.amount > best.amount):
            best = found
    return best


def _largest_at(annual_income, monthly_debt, amount, term, price, policy) -> Terms | None:
    """The largest whole number of note units below `amount` that fits, by binary search: the
    payment rises with the amount (and so, with the risk, does the rate), so the units that
    fit are a prefix."""
    unit, smallest = policy.note_unit, policy.loan_amounts[0]
    low = int((smallest / unit).to_integral_value(rounding=ROUND_CEILING))
    high = int((amount / unit).to_integral_value(rounding=ROUND_CEILING)) - 1
    fitting = None
    while low <= high:
        middle = (low + high) // 2
        terms = _fitting(annual_income, monthly_debt, middle * unit, term, price, policy)
        if terms is not None:
            fitting, low = terms, middle + 1
        else:
            high = middle - 1
    return fitting


def _fitting(annual_income, monthly_debt, amount, term, price, policy) -> Terms | None:
    """The terms of `amount` over `term` if it is offered at all and fits, else None."""
    rate = price(amount, term)
    if rate is None:
        return None
    terms = _terms(annual_income, monthly_debt, amount, term, rate, policy)
    return terms if terms.within_limit else None


def _terms(annual_income, monthly_debt, amount, term, rate, policy) -> Terms:
    payment = amortization.level_payment(amount, rate, term, rounding=policy.payment_rounding)
    owed_yearly = (monthly_debt + payment) * 12 * 100
    return Terms(
        amount,
        term,
        rate,
        payment,
        debt_to_income(monthly_debt, payment, annual_income),
        owed_yearly <= policy.max_debt_to_income_percent * annual_income,
    )


def _terms_figures(terms: Terms) -> dict:
    return {
        "amount": str(terms.amount),
        "term_months": terms.term_months,
        "rate": str(terms.rate),
        "payment": str(terms.payment),
        "debt_to_income": str(terms.debt_to_income),
    }
