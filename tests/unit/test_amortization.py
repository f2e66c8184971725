"""Schedules, APR and the 30/360 day count against the golden cases in docs/lending-rules.md."""

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.servicing import amortization
from app.services.servicing.amortization import (
    accrued_interest,
    apr_with_fee,
    days_30_360,
    schedule,
    total_interest,
)

D = Decimal
START = date(2024, 1, 15)
FINERACT = ROUND_HALF_EVEN  # Fineract's golden cases round the level payment half-even


@pytest.mark.parametrize(
    ("principal", "rate", "months", "payment", "last", "interest"),
    [
        ("10000", "10.99", 36, "327.34", "327.33", "1784.23"),  # G1
        ("10000", "10.99", 60, "217.37", "217.73", "3042.56"),  # G2
        ("5000", "12", 18, "304.91", "304.94", "488.41"),  # G4
        ("100", "9.4822", 6, "17.13", "17.13", "2.78"),  # G9
        ("11500", "7", 36, "355.09", "354.95", "1283.10"),  # G11: not 36 × 355.09
        ("10000", "4.5", 36, "297.47", "297.47", "708.92"),  # G11
        ("10000", "12", 36, "332.14", "332.28", "1957.18"),  # G11
    ],
)
def test_golden_schedules(principal, rate, months, payment, last, interest):
    plans = schedule(D(principal), D(rate), months, START, rounding=FINERACT)
    assert len(plans) == months
    assert all(plan.payment == D(payment) for plan in plans[:-1])
    assert plans[-1].payment == D(last)
    assert total_interest(plans) == D(interest)
    assert sum(plan.principal for plan in plans) == D(principal)
    assert plans[-1].balance == D("0.00")


def test_g1_rows_match_fineract_row_by_row():
    plans = schedule(D("10000"), D("10.99"), 36, START, rounding=FINERACT)
    assert (plans[0].interest, plans[0].principal, plans[0].balance) == (
        D("91.58"),
        D("235.76"),
        D("9764.24"),
    )
    assert (plans[1].interest, plans[1].principal) == (D("89.42"), D("237.92"))
    assert (plans[34].interest, plans[34].principal, plans[34].balance) == (
        D("5.91"),
        D("321.43"),
        D("324.36"),
    )
    assert (plans[35].principal, plans[35].interest) == (D("324.36"), D("2.97"))


def test_g9_interest_and_principal_rows():
    plans = schedule(D("100"), D("9.4822"), 6, START, rounding=FINERACT)
    assert [p.interest for p in plans] == [
        D(x) for x in ("0.79", "0.66", "0.53", "0.40", "0.27", "0.13")
    ]
    assert [p.principal for p in plans] == [
        D(x) for x in ("16.34", "16.47", "16.60", "16.73", "16.86", "17.00")
    ]


def test_g3_payment_in_multiples_of_one_matches_fineract_rs02():
    plans = schedule(D("5000"), D("12"), 18, START, payment_multiple=D("1"), rounding=FINERACT)
    assert all(p.payment == D("305.00") for p in plans[:-1])
    assert (plans[0].interest, plans[0].principal) == (D("50.00"), D("255.00"))
    assert (plans[1].interest, plans[1].principal) == (D("47.45"), D("257.55"))
    assert (plans[16].interest, plans[16].balance) == (D("5.99"), D("300.22"))
    assert (plans[-1].payment, plans[-1].principal, plans[-1].interest) == (
        D("303.22"),
        D("300.22"),
        D("3.00"),
    )
    assert total_interest(plans) == D("488.22")


def test_g6_equal_principal_matches_fineract_rs04():
    plans = schedule(D("5000"), D("12"), 18, START, equal_principal=True)
    assert all(p.principal == D("277.78") for p in plans[:-1])
    assert (plans[0].payment, plans[0].interest, plans[1].payment) == (
        D("327.78"),
        D("50.00"),
        D("325.00"),
    )
    assert (plans[-1].payment, plans[-1].principal, plans[-1].interest) == (
        D("280.52"),
        D("277.74"),
        D("2.78"),
    )
    assert total_interest(plans) == D("475.00")


def test_due_dates_are_monthly_and_clamp_to_month_end():
    plans = schedule(D("1200"), D("6"), 4, date(2024, 1, 31))
    assert [p.due_date for p in plans] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]


def test_g12_apr_includes_the_origination_fee():
    assert apr_with_fee(D("10000"), D("10.99"), 36, D("500.00")) == D("14.57")
    assert apr_with_fee(D("10000"), D("10.99"), 36, D("0.00")) == D("10.99")


@settings(max_examples=60, deadline=None)
@given(
    dollars=st.integers(1000, 40000),
    rate_bp=st.integers(0, 3600),
    months=st.sampled_from([12, 36, 60]),
    fee_bp=st.integers(0, 800),
)
def test_apr_is_quantlibs_monthly_yield_of_the_net_proceeds(dollars, rate_bp, months, fee_bp):
    """Regulation Z's actuarial APR: the monthly rate at which the payments are worth the
    proceeds, times twelve; QuantLib solves it independently (30/360 monthly periods)."""
    principal, rate = D(dollars), D(rate_bp) / 100
    fee = (principal * fee_bp / 10000).quantize(D("0.01"))
    payments = [plan.payment for plan in schedule(principal, rate, months, date(2000, 1, 1))]
    start = ql.Date(1, 1, 2000)
    leg = [
        ql.SimpleCashFlow(float(amount), start + ql.Period(k, ql.Months))
        for k, amount in enumerate(payments, 1)
    ]
    day_count = ql.Thirty360(ql.Thirty360.USA)
    reference = ql.CashFlows.yieldRate(
        leg, float(principal - fee), day_count, ql.Compounded, ql.Monthly, False, start, start,
        1e-14, 1000, 0.01,
    )  # fmt: skip
    ours = amortization.apr(principal - fee, payments)
    assert abs(D(reference) * 100 - ours) <= D("0.005000001")


def test_zero_rate_loan_repays_principal_only():
    plans = schedule(D("1000"), D("0"), 3, START)
    assert [p.payment for p in plans] == [D("333.34"), D("333.34"), D("333.32")]
    assert total_interest(plans) == D("0.00")
    fineract = schedule(D("1000"), D("0"), 3, START, rounding=FINERACT)
    assert [p.payment for p in fineract] == [D("333.33"), D("333.33"), D("333.34")]


@pytest.mark.parametrize(
    ("issued", "expected"),
    [
        (date(2025, 1, 31), ["2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"]),
        (date(2024, 1, 31), ["2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"]),
        (date(2025, 1, 30), ["2025-02-28", "2025-03-30", "2025-04-30", "2025-05-30"]),
        (date(2025, 3, 15), ["2025-04-15", "2025-05-15", "2025-06-15", "2025-07-15"]),
    ],
)
def test_due_dates_keep_the_issue_day_clamped_to_month_end(issued, expected):
    first_due = amortization.add_months(issued, 1)
    plans = schedule(D("1200"), D("6"), 4, first_due, due_day=issued.day)
    assert [p.due_date.isoformat() for p in plans] == expected


def test_prepayment_keeps_the_payment_and_shortens_the_schedule():
    original = schedule(D("10000"), D("10.99"), 36, START)
    after_prepay = original[2].balance - D("5000.00")
    rest = amortization.amortize(
        after_prepay, D("10.99"), D("327.34"), date(2024, 4, 15), first_number=4
    )
    assert rest[0].number == 4 and rest[0].payment == D("327.34")
    assert len(rest) < 33
    assert sum(p.principal for p in rest) == after_prepay
    assert rest[-1].balance == D("0.00") and rest[-1].payment <= D("327.34")


@settings(max_examples=2000, deadline=None)
@given(
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    length=st.integers(0, 800),
)
def test_30_360_counts_days_as_quantlib_does(start, length):
    """QuantLib's Thirty360(USA) is the outside reference for the one day count."""
    end = start + timedelta(days=length)
    reference = ql.Thirty360(ql.Thirty360.USA).dayCount(
        ql.Date(start.day, start.month, start.year), ql.Date(end.day, end.month, end.year)
    )
    assert days_30_360(start, end) == reference


def test_accrued_interest_runs_straight_to_the_installments_interest_on_its_due_date():
    # G1 row 1: 91.58 of interest from Jan 15 to Feb 15; 15 of 30 days is half of it.
    start, due = date(2024, 1, 15), date(2024, 2, 15)
    assert accrued_interest(D("91.58"), D("0"), start, due, date(2024, 1, 30)) == D("45.79")
    assert accrued_interest(D("91.58"), D("0"), start, due, due) == D("91.58")
    assert accrued_interest(D("91.58"), D("0"), start, due, date(2024, 3, 1)) == D("91.58")
    assert accrued_interest(D("91.58"), D("0"), start, due, start) == D("0.00")
    # Jan 31 -> Feb 29 is 29 days of 30/360: the due date still earns the whole period.
    assert accrued_interest(
        D("90"), D("0"), date(2024, 1, 31), date(2024, 2, 29), date(2024, 2, 28)
    ) == D("86.90")


@pytest.mark.parametrize(
    "bad",
    [
        (D("0"), D("10"), 12),
        (D("-5"), D("10"), 12),
        (D("100.001"), D("10"), 12),
        (D("100"), D("-1"), 12),
        (D("100"), D("10"), 0),
    ],
)
def test_bad_inputs_are_refused(bad):
    with pytest.raises(ValueError):
        schedule(*bad, START)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        schedule(10000.0, D("10"), 12, START)


@settings(max_examples=300, deadline=None)
@given(
    cents_amount=st.integers(min_value=100_00, max_value=50_000_00),
    rate_bp=st.integers(min_value=0, max_value=3600),
    months=st.sampled_from([6, 12, 24, 36, 48, 60]),
)
def test_every_schedule_closes_at_zero(cents_amount, rate_bp, months):
    principal = D(cents_amount) / 100
    rate = D(rate_bp) / 100
    plans = schedule(principal, rate, months, START)
    assert len(plans) == months
    assert sum(p.principal for p in plans) == principal
    assert plans[-1].balance == D("0.00")
    assert all(p.principal > 0 and p.interest >= 0 for p in plans)
    assert all(p.payment == plans[0].payment for p in plans[:-1])
    assert all(p.principal == p.principal.quantize(D("0.01")) for p in plans)


@settings(max_examples=3000, derandomize=True, deadline=None)
@given(
    amount=st.integers(1000, 40000),
    rate=st.integers(500, 3099).map(lambda bp: D(bp) / 100),
    months=st.sampled_from([12, 24, 36, 48, 60]),
)
def test_under_lendingclubs_convention_the_last_installment_is_never_larger(amount, rate, months):
    """Payment up, interest down: the balance never falls behind the exact amortization."""
    plans = schedule(D(amount), rate, months, START)
    assert len(plans) == months
    assert plans[-1].payment <= plans[0].payment
    assert all(plan.payment == plans[0].payment for plan in plans[:-1])
    assert sum(plan.principal for plan in plans) == D(amount)


def test_interest_of_an_exact_number_of_cents_is_not_rounded_down_a_cent():
    """Found by the reference servicer: 1,536.00 at 18.25% is exactly 23.36 a month; computing
    APR/1200 first left a hair below it, which rounding down made 23.35."""
    from decimal import ROUND_FLOOR

    for balance, rate, month in (("1536.00", "18.25", "23.36"), ("1680.00", "18.25", "25.55")):
        assert D(balance) * D(rate) / 1200 == D(month)
        assert amortization.period_interest(D(balance), D(rate), 30, ROUND_FLOOR) == D(month)
