"""Hardship schedules against an independent reference (tests/reference/hardship.py), to the cent."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.services.errors import ValidationFailed
from app.services.servicing import hardship
from tests.reference import hardship as ref

D = Decimal
ZERO = D("0.00")


def position(amount, rate, term, paid, issued, first_days=30):
    """A loan `paid` installments in, from the reference's own schedule."""
    first = ref.month_later(issued, 1, issued.day)
    rows, _ = ref.level(D(amount), D(rate), term, first, issued.day)
    balance = D(amount) - sum(p for _, p, _ in rows[:paid])
    return hardship.Position(
        balance=balance,
        annual_rate=D(rate),
        remaining=term - paid,
        first_due=rows[paid][0],
        due_day=issued.day,
        payment=rows[0][1] + rows[0][2],
        elapsed=paid,
        first_period_days=first_days,
    )


def rows(plan):
    return [(p.due_date, p.principal, p.interest) for p in plan.installments]


def check_invariants(plan, pos, months_later=0, extra_principal=ZERO):
    assert sum(p.principal for p in plan.installments) == pos.balance + extra_principal
    assert plan.installments[-1].balance == 0
    for index, p in enumerate(plan.installments):
        assert p.due_date == ref.month_later(pos.first_due, index + months_later, pos.due_day)
        assert p.payment == p.principal + p.interest and p.principal >= 0 and p.interest >= 0


G1_AFTER_6 = position("10000.00", "10.99", 36, 6, date(2024, 1, 15))
OLD_REMAINING = sum(
    p + i for _, p, i in ref.level(D("10000.00"), D("10.99"), 36, date(2024, 2, 15), 15)[0][6:]
)


def test_the_worked_example_a_two_month_holiday_capitalised():
    """docs/lending-rules.md: $10,000, 36 mo, 10.99% after 6 payments, 2 months capitalised."""
    assert G1_AFTER_6.balance == D("8552.64") and G1_AFTER_6.first_due == date(2024, 8, 15)
    plan = hardship.payment_holiday(G1_AFTER_6, 2, "capitalise")
    assert plan.capitalised == D("156.65")  # 8,552.64 × 10.99% × 60 / 360 = 156.6525, down
    assert plan.installments[0].due_date == date(2024, 10, 15)
    assert plan.installments[-1].due_date == date(2027, 3, 15)  # two months after Jan 2027
    assert plan.payment == D("333.34")  # 8,709.29 over 30 months: 333.3340, up
    assert plan.total == D("9999.85")  # the old remaining schedule: 29 × 327.34 + 327.11
    assert OLD_REMAINING == D("9819.97")
    expected = ref.holiday(D("8552.64"), D("10.99"), 30, date(2024, 8, 15), 15, 2, "capitalise")
    assert rows(plan) == expected[0]
    check_invariants(plan, G1_AFTER_6, 2, plan.capitalised)


def test_the_worked_example_a_two_month_holiday_spread():
    plan = hardship.payment_holiday(G1_AFTER_6, 2, "spread")
    assert plan.deferred_interest == D("156.65")
    assert [p.payment for p in plan.installments[:2]] == [D("327.34") + D("5.22")] * 2
    assert plan.installments[-1].payment == D("327.11") + D("5.27")  # 156.65 − 29 × 5.22
    # The same balance over the same number of months: exactly the holiday interest more.
    assert plan.total - OLD_REMAINING == D("156.65")
    check_invariants(plan, G1_AFTER_6, 2)


def test_re_amortisation_over_48_months_lowers_the_payment():
    plan = hardship.reamortisation(G1_AFTER_6, 48, max_term=72)
    assert plan.payment == D("221.01")  # 8,552.64 over 48 months: 221.0059, up
    assert plan.end_date == date(2028, 7, 15)
    assert plan.total == D("10607.94")
    assert rows(plan) == ref.reamortise(D("8552.64"), D("10.99"), 48, date(2024, 8, 15), 15)
    check_invariants(plan, G1_AFTER_6)


def test_a_rate_reduction_ends_on_the_original_date():
    plan = hardship.rate_reduction(G1_AFTER_6, D("4.00"), 6, max_months=12)
    assert plan.end_date == date(2027, 1, 15)
    assert len(plan.installments) == 30
    assert plan.payment == D("300.06")  # 8,552.64 over 30 months at 4%: 300.0544, up
    assert plan.installments[5].interest == D("23.95")  # the sixth month, still at 4%
    assert plan.installments[6].payment == D("322.02")  # back to 10.99% over 24 months
    assert plan.total == D("9528.50")
    expected = ref.reduce_rate(D("8552.64"), D("10.99"), D("4"), 6, 30, date(2024, 8, 15), 15)
    assert rows(plan) == expected
    check_invariants(plan, G1_AFTER_6)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: hardship.reamortisation(G1_AFTER_6, 67, max_term=72), "term"),
        (lambda: hardship.reamortisation(G1_AFTER_6, 20, max_term=72), "term"),
        (lambda: hardship.rate_reduction(G1_AFTER_6, D("11"), 6, max_months=12), "reduced_rate"),
        (lambda: hardship.rate_reduction(G1_AFTER_6, D("5"), 13, max_months=12), "months"),
        (lambda: hardship.payment_holiday(G1_AFTER_6, 2, "forgive"), "holiday_interest"),
    ],
)
def test_plans_outside_the_rules_are_refused_with_a_field_message(call, field):
    with pytest.raises(ValidationFailed) as refused:
        call()
    assert field in refused.value.errors


def test_spread_never_leaves_the_last_share_negative():
    assert hardship.spread(D("1.00"), 36) == [D("0.02")] * 35 + [D("0.30")]
    assert hardship.spread(D("155.72"), 30) == [D("5.19")] * 29 + [D("5.21")]


loans = st.builds(
    position,
    amount=st.integers(100_000, 4_000_000).map(lambda c: str(D(c) / 100)),
    rate=st.integers(300, 3099).map(lambda b: str(D(b) / 100)),
    term=st.sampled_from([36, 60]),
    paid=st.integers(0, 35),
    issued=st.dates(date(2023, 1, 1), date(2026, 12, 31)),
    first_days=st.sampled_from([30, 30, 12, 29]),
)


@settings(max_examples=150, deadline=None)
@given(loans, st.integers(1, 3), st.sampled_from(["capitalise", "spread"]))
def test_random_holidays_match_the_reference(pos, months, mode):
    plan = hardship.payment_holiday(pos, months, mode)
    expected, held = ref.holiday(
        pos.balance, pos.annual_rate, pos.remaining, pos.first_due, pos.due_day, months, mode,
        pos.first_period_days,
    )  # fmt: skip
    assert rows(plan) == expected
    assert held == (plan.capitalised or plan.deferred_interest)
    check_invariants(plan, pos, months, plan.capitalised)


@settings(max_examples=150, deadline=None)
@given(loans, st.integers(1, 84))
def test_random_re_amortisations_match_the_reference(pos, term):
    assume(pos.elapsed + term <= 84)
    try:
        plan = hardship.reamortisation(pos, term, max_term=84)
    except ValidationFailed:
        assert ref.payment(pos.balance, pos.annual_rate, term) >= pos.payment
        return
    assert rows(plan) == ref.reamortise(
        pos.balance, pos.annual_rate, term, pos.first_due, pos.due_day, pos.first_period_days
    )
    check_invariants(plan, pos)


@settings(max_examples=150, deadline=None)
@given(loans, st.integers(0, 100), st.integers(1, 12))
def test_random_rate_reductions_match_the_reference(pos, percent_of_rate, months):
    low = (pos.annual_rate * percent_of_rate / 101).quantize(D("0.01"))
    months = min(months, pos.remaining)
    plan = hardship.rate_reduction(pos, low, months, max_months=12)
    assert rows(plan) == ref.reduce_rate(
        pos.balance, pos.annual_rate, low, months, pos.remaining, pos.first_due, pos.due_day,
        pos.first_period_days,
    )  # fmt: skip
    assert plan.end_date == ref.month_later(pos.first_due, pos.remaining - 1, pos.due_day)
    check_invariants(plan, pos)
