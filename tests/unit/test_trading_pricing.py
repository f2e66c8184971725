"""Pricing a note on the secondary market, checked against what we did not write: the bond
identity (a note bought at par on a due date, no fees, yields its coupon), SciPy's root
finder on the same cash flows, and hand-worked accrued interest in 30/360."""

from datetime import date
from decimal import Decimal

import pytest
from scipy.optimize import brentq

from app.services.servicing import amortization
from app.services.trading import pricing

D = Decimal


def _open(plans, paid_through=0):
    """The unpaid installments of a schedule whose first `paid_through` were paid."""
    starts = [amortization.add_months(plans[0].due_date, -1)] + [p.due_date for p in plans]
    return [
        pricing.OpenInstallment(
            due_date=plan.due_date,
            principal_left=plan.principal,
            interest_due=plan.interest,
            interest_paid=D("0"),
            interest_settled=D("0"),
            accrual_start=starts[plan.number - 1],
        )
        for plan in plans[paid_through:]
    ]


def test_a_note_bought_at_par_on_a_due_date_without_fees_yields_its_loans_rate():
    plans = amortization.schedule_from_issue(D("10000.00"), D("10.99"), 36, date(2024, 1, 15))
    open_ = _open(plans, paid_through=6)
    on = plans[5].due_date
    principal = sum(item.principal_left for item in open_)
    flows = pricing.note_cash_flows(open_, D(1), D(0), on)
    # The payment rounds up to the cent, so the borrower pays a hair more than 10.99 %.
    assert pricing.yield_to_maturity(principal, flows, on) in (D("10.99"), D("11.00"))


def test_the_yield_agrees_with_scipy_on_the_same_flows():
    plans = amortization.schedule_from_issue(D("12000.00"), D("17.49"), 60, date(2024, 3, 31))
    on = date(2025, 7, 9)  # between due dates, some past due
    open_ = _open(plans, paid_through=14)
    share = D("150") / D("12000")
    flows = pricing.note_cash_flows(open_, share, D("1"), on)
    for price in (D("90.00"), D("120.37"), D("140.10")):
        ours = pricing.yield_to_maturity(price, flows, on)
        times = [amortization.days_30_360(on, day) / 30 for day, _ in flows]
        amounts = [float(amount) for _, amount in flows]

        def gap(rate, times=times, amounts=amounts, price=price):
            return sum(a / (1 + rate) ** t for a, t in zip(amounts, times, strict=True)) - float(
                price
            )

        theirs = brentq(gap, -0.5, 5) * 12 * 100
        assert abs(float(ours) - theirs) < 0.006, (price, ours, theirs)


def test_a_discount_raises_the_yield_and_a_markup_lowers_it():
    plans = amortization.schedule_from_issue(D("5000.00"), D("13.00"), 36, date(2024, 1, 10))
    open_ = _open(plans, paid_through=3)
    on = date(2024, 4, 10)
    flows = pricing.note_cash_flows(open_, D("0.01"), D("1"), on)
    par = pricing.quote(D("45.00"), D("0"), D("0"), D("1")).price
    cheap = pricing.quote(D("45.00"), D("0"), D("-10"), D("1")).price
    dear = pricing.quote(D("45.00"), D("0"), D("10"), D("1")).price
    ys = [pricing.yield_to_maturity(p, flows, on) for p in (dear, par, cheap)]
    assert ys == sorted(ys)


def test_accrued_interest_is_past_due_interest_plus_the_running_installment_to_the_day():
    items = [
        pricing.OpenInstallment(
            date(2024, 5, 15), D("250"), D("80.00"), D("30.00"), D(0), date(2024, 4, 15)
        ),
        pricing.OpenInstallment(
            date(2024, 6, 15), D("252"), D("78.00"), D("0"), D(0), date(2024, 5, 15)
        ),
        pricing.OpenInstallment(
            date(2024, 7, 15), D("254"), D("76.00"), D("0"), D(0), date(2024, 6, 15)
        ),
    ]
    # 50.00 unpaid from May; June's 78.00 over 30 days of 30/360, 12 of them gone by May 27.
    assert pricing.loan_accrued_interest(items, date(2024, 5, 27)) == D("50.00") + D("31.20")
    assert pricing.loan_accrued_interest(items, date(2024, 5, 15)) == D("50.00")
    quote = pricing.note_quote(
        principal=D("20.00"),
        note_amount=D("100"),
        funded_amount=D("1000"),
        installments=items,
        as_of=date(2024, 5, 27),
        markup_percent=D("-5"),
        fee_percent=D("1"),
    )
    assert quote.accrued_interest == D("8.12")  # 81.20 × 10 %
    assert quote.price == D("26.71")  # 28.12 × 0.95 = 26.714, half even
    assert quote.premium == D("-1.41")
    assert quote.fee == D("0.27")  # 1 % of 26.71 = 0.2671
    assert quote.proceeds == D("26.44")


@pytest.mark.parametrize("price", [D("0"), D("-1")])
def test_no_yield_for_a_price_that_is_no_price(price):
    assert pricing.yield_to_maturity(price, [(date(2025, 1, 1), D("10"))], date(2024, 1, 1)) is None
    assert pricing.yield_to_maturity(D("10"), [], date(2024, 1, 1)) is None
