"""Affordability against a deliberately simple reference: every $25 amount at every term,
with the annuity formula written out here, not the amortization service's."""

from decimal import ROUND_CEILING, Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from app.risk import predict
from app.services.lending import affordability
from app.services.policy import DEFAULT_POLICY

D = Decimal


def reference_payment(amount: Decimal, rate_percent: Decimal, months: int) -> Decimal:
    r = rate_percent / 1200
    raw = amount * r / (1 - (1 + r) ** -months)
    return raw.quantize(D("0.01"), rounding=ROUND_CEILING)


def reference_largest(income, debt, amount, term, price):
    """Every whole $25 below the request at its term, and up to and including it at a longer
    one; the largest that fits, the shorter term on a tie."""
    best = None
    for months in (t for t in DEFAULT_POLICY.loan_terms if t >= term):
        top = amount if months > term else amount - D("0.01")
        candidates = [D(units * 25) for units in range(40, int(top // 25) + 1)]
        if months > term and amount % 25:
            candidates.append(amount)
        for candidate in candidates:
            rate = price(candidate, months)
            if rate is None:
                continue
            payment = reference_payment(candidate, rate, months)
            if (debt + payment) * 12 * 100 / income <= 40:
                if best is None or candidate > best[0]:
                    best = (candidate, months)
    return best


def test_debt_to_income_counts_the_new_payment():
    # LendingClub's definition: monthly debt payments over monthly gross income.
    assert affordability.debt_to_income(D("1500"), D("500"), D("60000")) == D("40.00")
    assert affordability.debt_to_income(D("0"), D("333.33"), D("40000")) == D("10.00")


def _model_price(application):
    def price(amount, term):
        return predict.score({**application, "amount": amount}, term_months=term).interest_rate

    return price


APPLICATION = {
    "credit_score": 700,
    "revolving_utilization": 40,
    "revolving_balance": 5000,
    "inquiries_6m": 1,
    "public_records": 0,
    "purpose": "credit_card",
}


@settings(max_examples=25, deadline=None)
@given(
    income=st.integers(20_000, 120_000).map(D),
    debt_share=st.integers(15, 42),  # percent of monthly income already owed
    amount=st.integers(4_000, 40_000).map(D),
    term=st.sampled_from([36, 60]),
)
def test_the_counter_offer_is_the_largest_loan_that_fits(income, debt_share, amount, term):
    debt = (income / 12 * debt_share / 100).quantize(D("0.01"))
    application = {**APPLICATION, "annual_income": income, "monthly_debt": debt}
    price = _model_price(application)
    rate = price(amount, term)
    if rate is None:
        return
    check = affordability.assess(income, debt, amount, term, rate, price)
    payment = reference_payment(amount, rate, term)
    assert check.requested.payment == payment
    assert check.fits == ((debt + payment) * 12 * 100 / income <= 40)
    if check.fits:
        return
    expected = reference_largest(income, debt, amount, term, price)
    event("counter-offer" if expected else "declined")
    if expected is None:
        assert check.counter is None
    else:
        assert (check.counter.amount, check.counter.term_months) == expected
        assert check.counter.debt_to_income <= 40
