"""Hardship plans applied to issued loans with several noteholders, through the real services:
the schedule the reference computes, a clean ledger, and later payments split pro rata."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    ActivityLog,
    Installment,
    InstallmentStatus,
    InvestmentStatus,
    Loan,
    LoanModification,
    ModificationKind,
    ModificationState,
    Notification,
    PaymentAllocation,
    ServicingStatus,
)
from app.services.errors import DomainError, ValidationFailed
from app.services.money import ledger
from app.services.policy import DEFAULT_POLICY
from app.services.servicing import amortization, hardship_desk, modifications, repayments
from tests.builders import assert_ledger_balances, issued_loan, key
from tests.reference import hardship as ref
from tests.reference.servicer import days_360

D = Decimal
NOTES = ["1025.00", "2950.00", "6025.00"]  # $10,000, shares with no finite decimal
ISSUED = date(2024, 1, 15)
ASKED = date(2024, 7, 20)  # after six payments
SPREAD = replace(DEFAULT_POLICY, holiday_interest="spread")


def _pay(loan, amount, on):
    return repayments.apply_payment(
        db.session, loan.id, D(amount), received_on=on, idempotency_key=key()
    )


def _open(loan):
    return db.session.scalars(
        select(Installment)
        .where(Installment.loan_id == loan.id, Installment.status.in_(["scheduled", "due", "late"]))
        .order_by(Installment.number)
    ).all()


def _loan_after_six():
    loan, notes = issued_loan(NOTES, issued_on=ISSUED)
    for number in range(1, 7):
        _pay(loan, loan.monthly_payment, amortization.add_months(ISSUED, number))
    assert loan.principal_outstanding == D("8552.64")
    return loan, notes


def _through(loan, kind, params, policy=DEFAULT_POLICY, offered=None, today=ASKED):
    """Borrower asks, an admin offers (adjusted terms if `offered`), the borrower accepts."""
    asked = modifications.request(
        db.session, loan.id, loan.borrower_id, kind, params, "Lost my job", today, policy
    )
    modifications.offer(db.session, asked.id, loan.borrower_id, today, offered, "ok", policy)
    done = modifications.accept(db.session, asked.id, loan.borrower_id, today, policy)
    assert done.state is ModificationState.APPLIED
    db.session.refresh(loan)
    return done


def _pay_to_the_end(loan, notes):
    """Pay every open installment on its due date; returns each note's principal received."""
    for row in _open(loan):
        _pay(loan, row.principal_due + row.interest_due, row.due_date)
    db.session.refresh(loan)
    assert loan.servicing_status is ServicingStatus.PAID_OFF
    return {
        note.id: db.session.scalar(
            select(func.sum(PaymentAllocation.principal)).where(
                PaymentAllocation.investment_id == note.id
            )
        )
        for note in notes
    }


def _assert_pro_rata(loan, notes):
    """Every payment's interest and principal within a cent of each note's exact share."""
    weight = {note.id: note.amount / loan.amount for note in notes}
    totals = db.session.execute(
        select(
            PaymentAllocation.investment_id,
            func.sum(PaymentAllocation.interest),
            func.sum(PaymentAllocation.principal),
        )
        .where(PaymentAllocation.investment_id.in_(weight))
        .group_by(PaymentAllocation.investment_id)
    ).all()
    interest = sum(t[1] for t in totals)
    principal = sum(t[2] for t in totals)
    for note_id, note_interest, note_principal in totals:
        assert abs(note_interest - interest * weight[note_id]) <= D("0.01")
        assert abs(note_principal - principal * weight[note_id]) <= D("0.01")


def test_a_capitalised_holiday_follows_the_reference_and_every_note_ends_at_zero():
    loan, notes = _loan_after_six()
    before = {n.id: n.principal_outstanding for n in notes}
    done = _through(loan, ModificationKind.HOLIDAY, {"months": 2})
    expected, held = ref.holiday(
        D("8552.64"), D("10.99"), 30, date(2024, 8, 15), 15, 2, "capitalise"
    )
    rows = _open(loan)
    assert [(r.due_date, r.principal_due, r.interest_due) for r in rows] == expected
    assert [r.number for r in rows] == list(range(37, 67))  # after the cancelled 7..36
    assert rows[0].accrual_start == date(2024, 9, 15)  # the holiday's last month ends there
    assert held == D("156.65") and loan.principal_outstanding == D("8552.64") + held
    assert loan.modified and loan.monthly_payment == D("333.34")
    assert loan.next_due_date == date(2024, 10, 15)
    shares = {n.id: n.principal_outstanding - before[n.id] for n in notes}
    assert sum(shares.values()) == held
    for note in notes:  # pro rata by note amount, to the cent
        assert abs(shares[note.id] - held * note.amount / loan.amount) < D("0.01")
    assert_ledger_balances()
    assert done.cost_difference == D("179.88")  # 9,999.85 − 9,819.97
    cancelled = db.session.scalar(
        select(func.count()).where(
            Installment.loan_id == loan.id, Installment.status == InstallmentStatus.CANCELLED
        )
    )
    assert cancelled == 30
    received = _pay_to_the_end(loan, notes)
    for note in notes:  # each note got back its amount and its share of the interest added
        assert received[note.id] == note.amount + shares[note.id]
        assert note.status is InvestmentStatus.PAID_OFF and note.principal_outstanding == 0
    _assert_pro_rata(loan, notes)
    assert_ledger_balances()


def test_a_spread_holiday_adds_exactly_the_holiday_interest_and_pays_off():
    loan, notes = _loan_after_six()
    done = _through(loan, ModificationKind.HOLIDAY, {"months": 2}, SPREAD)
    expected, held = ref.holiday(D("8552.64"), D("10.99"), 30, date(2024, 8, 15), 15, 2, "spread")
    assert [(r.due_date, r.principal_due, r.interest_due) for r in _open(loan)] == expected
    assert done.cost_difference == held == D("156.65")
    assert loan.principal_outstanding == D("8552.64")
    _pay_to_the_end(loan, notes)
    _assert_pro_rata(loan, notes)
    assert_ledger_balances()


def test_a_re_amortisation_and_a_rate_reduction_pay_off_pro_rata():
    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.REAMORTISATION, {"term": 40}, offered={"term": 48})
    expected = ref.reamortise(D("8552.64"), D("10.99"), 48, date(2024, 8, 15), 15)
    assert [(r.due_date, r.principal_due, r.interest_due) for r in _open(loan)] == expected
    assert loan.monthly_payment == D("221.01")
    other, other_notes = _loan_after_six()
    done = _through(
        other, ModificationKind.RATE_REDUCTION, {"reduced_rate": D("4.00"), "months": 6}
    )
    expected = ref.reduce_rate(D("8552.64"), D("10.99"), D("4"), 6, 30, date(2024, 8, 15), 15)
    assert [(r.due_date, r.principal_due, r.interest_due) for r in _open(other)] == expected
    assert done.cost_difference == D("9528.50") - D("9819.97")
    _pay_to_the_end(loan, notes)
    _pay_to_the_end(other, other_notes)
    _assert_pro_rata(loan, notes)
    _assert_pro_rata(other, other_notes)
    assert_ledger_balances()


def test_noteholders_hear_of_the_modification_without_the_borrowers_data():
    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.RATE_REDUCTION, {"reduced_rate": D("4.00"), "months": 6})
    told = db.session.scalars(
        select(Notification).where(Notification.kind == "loan.modified")
    ).all()
    assert sorted(n.user_id for n in told) == sorted(n.lender_id for n in notes)
    assert told[0].body == f"Loan #{loan.id} was modified: rate reduced to 4.00% for 6 months."
    assert loan.borrower.email not in told[0].body
    logged = db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "loan.modified")
    ).one()
    assert logged.entity_id == loan.id and logged.details["kind"] == "rate_reduction"


def test_a_settlement_for_less_charges_the_shortfall_to_the_notes_pro_rata():
    loan, notes = _loan_after_six()
    payoff = repayments.payoff_amount(db.session, loan, ASKED).total
    lump = (payoff * D("0.6")).quantize(D("0.01"), rounding="ROUND_CEILING")
    held = {n.id: n.principal_outstanding for n in notes}
    asked = modifications.request(
        db.session, loan.id, loan.borrower_id, ModificationKind.SETTLEMENT, {"amount": lump},
        "cannot pay", ASKED,
    )  # fmt: skip
    modifications.offer(db.session, asked.id, loan.borrower_id, ASKED)
    agreed = modifications.accept(db.session, asked.id, loan.borrower_id, ASKED)
    assert agreed.state is ModificationState.ACCEPTED and not loan.modified  # no money yet
    with pytest.raises(ValidationFailed, match="agreed lump sum"):
        hardship_desk.record_settlement(
            db.session, asked.id, loan.borrower_id, lump - D("1"), ASKED, "wire"
        )
    hardship_desk.record_settlement(db.session, asked.id, loan.borrower_id, lump, ASKED, "wire")
    db.session.refresh(loan)
    assert asked.state is ModificationState.APPLIED and loan.modified
    assert loan.servicing_status is ServicingStatus.CHARGED_OFF and loan.settled_at
    losses = {}
    for note in notes:
        repaid = db.session.scalar(
            select(func.sum(PaymentAllocation.principal)).where(
                PaymentAllocation.investment_id == note.id
            )
        )
        losses[note.id] = note.amount - repaid
        assert note.status is InvestmentStatus.CHARGED_OFF
        assert abs(losses[note.id] - (payoff - lump) * note.amount / loan.amount) < D("0.01")
        assert losses[note.id] <= held[note.id]
    assert sum(losses.values()) == payoff - lump
    # The worked example in docs/lending-rules.md.
    assert (payoff, lump, payoff - lump) == (D("8565.69"), D("5139.42"), D("3426.27"))
    assert sorted(losses.values()) == [D("351.19"), D("1010.75"), D("2064.33")]
    assert ledger.balance_of(db.session, ledger.AccountKind.LOAN_RECEIVABLE, loan_id=loan.id) == 0
    with pytest.raises(DomainError):
        _pay(loan, "10.00", date(2024, 8, 1))
    assert_ledger_balances()


def _state(loan):
    db.session.flush()
    return (
        db.session.scalar(select(func.count()).select_from(LoanModification)),
        [(i.number, i.status, i.principal_due, i.interest_due) for i in loan.installments],
        loan.principal_outstanding,
        loan.monthly_payment,
        loan.modified,
    )


@pytest.mark.parametrize(
    "kind, params, field",
    [
        (ModificationKind.HOLIDAY, {"months": 4}, "months"),
        (ModificationKind.REAMORTISATION, {"term": 79}, "term"),  # 6 + 79 > 84
        (ModificationKind.REAMORTISATION, {"term": 30}, "term"),  # not lower
        (ModificationKind.RATE_REDUCTION, {"reduced_rate": D("4"), "months": 13}, "months"),
        (ModificationKind.SETTLEMENT, {"amount": D("100.00")}, "amount"),
    ],
)
def test_plans_outside_policy_are_refused_and_change_nothing(kind, params, field):
    loan, _ = _loan_after_six()
    before = _state(loan)
    with pytest.raises(ValidationFailed) as refused:
        modifications.request(db.session, loan.id, loan.borrower_id, kind, params, "why", ASKED)
    assert field in refused.value.errors
    assert _state(loan) == before


def test_a_second_holiday_within_twelve_months_and_a_second_open_request_are_refused():
    loan, _ = _loan_after_six()
    _through(loan, ModificationKind.HOLIDAY, {"months": 1})
    before = _state(loan)
    with pytest.raises(ValidationFailed, match="once every 12 months"):
        modifications.request(
            db.session, loan.id, loan.borrower_id, ModificationKind.HOLIDAY, {"months": 1},
            "again", date(2025, 7, 19),
        )  # fmt: skip
    assert _state(loan) == before
    modifications.request(
        db.session, loan.id, loan.borrower_id, ModificationKind.REAMORTISATION, {"term": 48},
        "lower", ASKED,
    )  # fmt: skip
    with pytest.raises(DomainError, match="already has a plan"):
        modifications.request(
            db.session, loan.id, loan.borrower_id, ModificationKind.REAMORTISATION,
            {"term": 50}, "lower", ASKED,
        )  # fmt: skip


def test_an_offer_lapses_when_the_loan_moved_before_acceptance():
    loan, _ = _loan_after_six()
    asked = modifications.request(
        db.session, loan.id, loan.borrower_id, ModificationKind.REAMORTISATION, {"term": 48},
        "why", ASKED,
    )  # fmt: skip
    modifications.offer(db.session, asked.id, loan.borrower_id, ASKED)
    _pay(loan, "100.00", date(2024, 7, 25))  # part of the next installment: the plan is stale
    done = modifications.accept(db.session, asked.id, loan.borrower_id, date(2024, 7, 26))
    assert done.state is ModificationState.EXPIRED
    assert not db.session.get(Loan, loan.id).modified


def test_a_modified_loan_prices_alike_in_sql_and_python():
    from tests.money.test_note_price_in_sql import _compare

    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.HOLIDAY, {"months": 2})
    day, checked = ASKED, 0
    while day <= date(2024, 11, 20):
        if day == date(2024, 10, 15):
            _pay(loan, loan.monthly_payment, day)
        checked += _compare(loan, notes, day)
        day = date.fromordinal(day.toordinal() + 5)
    assert checked > 100


def test_a_settlement_file_pays_modified_schedules_as_one_by_one_payments_do():
    from app.services.servicing import servicing, settlement
    from app.services.servicing.settlement import SettlementRow
    from tests.money.test_settlement import _snapshot

    holiday, _ = _loan_after_six()
    _through(holiday, ModificationKind.HOLIDAY, {"months": 2})
    reduced, _ = _loan_after_six()
    _through(reduced, ModificationKind.RATE_REDUCTION, {"reduced_rate": D("4.00"), "months": 6})
    for row in _open(reduced)[:2]:
        _pay(reduced, row.principal_due + row.interest_due, row.due_date)
    day = date(2024, 10, 15)  # the holiday loan's first new installment, the other's third
    servicing.run_cycle(db.session, day)
    rows = []
    for loan in (holiday, reduced):
        due = _open(loan)[0]
        amount = due.principal_due + due.interest_due
        rows.append(SettlementRow(loan.id, amount, f"file-{loan.id}", payer_id=loan.borrower_id))
    inner = db.session.begin_nested()
    for row in rows:
        repayments.apply_payment(
            db.session, row.loan_id, row.amount, received_on=day,
            idempotency_key=row.idempotency_key, payer_id=row.payer_id,
        )  # fmt: skip
    expected = _snapshot(rows)
    inner.rollback()
    db.session.expire_all()
    result = settlement.settle(db.session, rows, day)
    assert (result.together, result.refused) == (2, [])
    assert _snapshot(rows) == expected
    assert_ledger_balances()


def test_the_daily_cycle_expires_offers_not_accepted_in_time():
    from app.services.servicing import servicing

    loan, _ = _loan_after_six()
    asked = modifications.request(
        db.session, loan.id, loan.borrower_id, ModificationKind.REAMORTISATION, {"term": 48},
        "why", ASKED,
    )  # fmt: skip
    modifications.offer(db.session, asked.id, loan.borrower_id, ASKED)
    asked.approved_at = asked.approved_at.replace(year=2024, month=7, day=20)
    stats = servicing.run_cycle(db.session, date(2024, 8, 3))  # 14 days on: still open
    assert stats["hardship_expired"] == 0
    stats = servicing.run_cycle(db.session, date(2024, 8, 4))
    assert stats["hardship_expired"] == 1
    db.session.refresh(asked)
    assert asked.state is ModificationState.EXPIRED
    with pytest.raises(DomainError, match="expired"):
        modifications.accept(db.session, asked.id, loan.borrower_id, date(2024, 8, 4))


@st.composite
def cases(draw):
    return {
        "notes": [str(25 * u) for u in draw(st.lists(st.integers(1, 80), min_size=1, max_size=3))],
        "rate": draw(st.sampled_from(["6.46", "10.99", "18.25", "29.99"])),
        "term": draw(st.sampled_from([12, 24])),
        "day": draw(st.sampled_from([15, 29, 30, 31])),
        "paid": draw(st.integers(2, 6)),
        "early": draw(st.booleans()),  # the next installment paid 9 days before its due date
        "kind": draw(st.sampled_from(["capitalise", "spread", "reamortisation", "rate"])),
        "months": draw(st.integers(1, 3)),
    }


@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_random_loans_follow_the_reference_and_pay_off_cleanly(app, case):
    outer = db.session.begin_nested()
    try:
        _random_case(case)
    finally:
        outer.rollback()


def _random_case(case):
    issued = date(2024, 1, case["day"])
    loan, notes = issued_loan(case["notes"], rate=case["rate"], term=case["term"], issued_on=issued)
    rows = _open(loan)
    for row in rows[: case["paid"]]:
        _pay(loan, row.principal_due + row.interest_due, row.due_date)
    last_paid, days = rows[case["paid"] - 1].due_date, 30
    if case["early"]:
        running = rows[case["paid"]]
        on = date.fromordinal(running.due_date.toordinal() - 9)
        _pay(
            loan,
            repayments.payoff_amount(db.session, loan, on).interest + running.principal_due,
            on,
        )
        last_paid = on
    db.session.refresh(loan)
    open_ = _open(loan)
    if case["early"]:
        days = days_360(last_paid, open_[0].due_date)
    balance, rate, left = loan.principal_outstanding, D(case["rate"]), len(open_)
    first, policy = open_[0].due_date, DEFAULT_POLICY
    if case["kind"] in ("capitalise", "spread"):
        policy = replace(DEFAULT_POLICY, holiday_interest=case["kind"])
        kind, params = ModificationKind.HOLIDAY, {"months": case["months"]}
        expected, held = ref.holiday(
            balance, rate, left, first, case["day"], case["months"], case["kind"], days
        )
    elif case["kind"] == "reamortisation":
        kind, params = ModificationKind.REAMORTISATION, {"term": left + 12}
        expected = ref.reamortise(balance, rate, left + 12, first, case["day"], days)
    else:
        months = min(case["months"] * 2, left)
        low = (rate / 2).quantize(D("0.01"))
        kind, params = ModificationKind.RATE_REDUCTION, {"reduced_rate": low, "months": months}
        expected = ref.reduce_rate(balance, rate, low, months, left, first, case["day"], days)
    _through(loan, kind, params, policy, today=date.fromordinal(last_paid.toordinal() + 1))
    assert [(r.due_date, r.principal_due, r.interest_due) for r in _open(loan)] == expected
    assert_ledger_balances()
    _pay_to_the_end(loan, notes)
    for note in notes:
        db.session.refresh(note)
        assert note.status is InvestmentStatus.PAID_OFF and note.principal_outstanding == 0
    _assert_pro_rata(loan, notes)
    assert_ledger_balances()


def test_a_loan_behind_may_take_a_holiday_but_not_a_lower_payment_or_rate():
    loan, _ = issued_loan(NOTES, issued_on=ISSUED)  # nothing paid: five installments overdue
    today = date(2024, 3, 20)
    with pytest.raises(ValidationFailed, match="overdue"):
        modifications.preview(
            db.session, loan, ModificationKind.REAMORTISATION, {"term": 48}, today
        )
    with pytest.raises(ValidationFailed, match="Too little is repaid"):  # capitalised
        modifications.preview(db.session, loan, ModificationKind.HOLIDAY, {"months": 2}, today)
    seen = modifications.preview(
        db.session, loan, ModificationKind.HOLIDAY, {"months": 2}, today, SPREAD
    )
    assert seen.new[0]["due_date"] == "2024-04-15"  # the two overdue installments deferred


def test_the_loans_totals_count_the_new_schedule_not_the_cancelled_one():
    from app.services.servicing import statements

    loan, notes = _loan_after_six()
    paid = sum(r.principal_due + r.interest_due for r in loan.installments[:6])
    _through(loan, ModificationKind.HOLIDAY, {"months": 2})
    total = statements.total_repayment(db.session, loan, ASKED)
    assert total == paid + D("9999.85")  # six paid and the 30 new installments


def test_noteholders_see_the_interest_a_rate_reduction_gives_up_and_their_share():
    from app.services.servicing import modification_apply

    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.RATE_REDUCTION, {"reduced_rate": D("4.00"), "months": 6})
    (view,) = modification_apply.lender_view(db.session, loan, notes[1].amount)
    # The old schedule's interest left (9,819.97 − 8,552.64) less the new one's (9,528.50 − 8,552.64).
    assert view["interest_forgone"] == D("291.47")
    assert view["your_share"] == D("85.98")  # 291.47 × 2,950 / 10,000 = 85.98365
    assert view["what"] == "rate reduced to 4.00% for 6 months"


def test_a_prepayment_during_a_rate_reduction_keeps_the_reduced_rate():
    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.RATE_REDUCTION, {"reduced_rate": D("4.00"), "months": 6})
    first = _open(loan)[0]
    _pay(loan, first.principal_due + first.interest_due, first.due_date)  # 2024-08-15
    on = date(2024, 9, 5)  # ten days before the next installment: it and $500 more
    running = _open(loan)[0]
    quote = repayments.payoff_amount(db.session, loan, on)
    _pay(loan, quote.interest + running.principal_due + D("500.00"), on)
    db.session.refresh(loan)
    rows = _open(loan)
    assert rows[0].due_date == date(2024, 10, 15) and rows[0].accrual_start == on
    # Reduced (4%) for Oct, Nov, Dec and Jan, then 10.99%; the first period runs 40 days.
    expected = ref.reduce_rate(
        loan.principal_outstanding, D("10.99"), D("4"), 4, len(rows), date(2024, 10, 15), 15, 40
    )
    assert [(r.due_date, r.principal_due, r.interest_due) for r in rows] == expected
    assert rows[0].interest_due == ref.interest(loan.principal_outstanding, D("4"), 40)
    _pay_to_the_end(loan, notes)
    _assert_pro_rata(loan, notes)
    assert_ledger_balances()


def test_part_of_a_reduced_installment_paid_early_leaves_the_rest_of_its_period_reduced():
    loan, _ = _loan_after_six()
    _through(loan, ModificationKind.RATE_REDUCTION, {"reduced_rate": D("4.00"), "months": 6})
    on = date(2024, 8, 5)  # ten days before the first reduced installment: part of it
    accrued = repayments.payoff_amount(db.session, loan, on).interest
    _pay(loan, accrued + D("100.00"), on)
    db.session.refresh(loan)
    running = _open(loan)[0]
    rest = ref.interest(loan.principal_outstanding, D("4"), 10)  # Aug 5 to Aug 15 at 4%
    assert running.interest_due == accrued + rest and running.accrual_start == on
    assert_ledger_balances()


def _interest_received(notes):
    return db.session.scalar(
        select(func.sum(PaymentAllocation.interest)).where(
            PaymentAllocation.investment_id.in_([n.id for n in notes])
        )
    )


def _spread_owed(loan):
    """The spread shares of the loan's open installments not yet paid (a share is paid
    before the regular interest of its installment)."""
    return sum(
        (
            r.deferred_interest_due - min(r.interest_paid, r.deferred_interest_due)
            for r in _open(loan)
        ),
        D("0"),
    )


def test_paying_a_spread_holiday_off_early_collects_the_holiday_interest_left():
    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.HOLIDAY, {"months": 2}, SPREAD)
    for row in _open(loan)[:3]:  # 2024-10-15, 11-15 and 12-15, each with a 5.22 share
        _pay(loan, row.principal_due + row.interest_due, row.due_date)
    on = date(2025, 1, 5)  # 20 days into the fourth new installment's period
    principal, interest, regular, held = ref.spread_payoff(
        D("8552.64"), D("10.99"), 30, date(2024, 8, 15), 15, 2, 3, on
    )
    assert held == D("156.65") and _spread_owed(loan) == held - 3 * D("5.22") == D("140.99")
    quote = repayments.payoff_amount(db.session, loan, on)
    assert (quote.principal, quote.interest, quote.fees) == (principal, interest, 0)
    _pay(loan, quote.total, on)
    db.session.refresh(loan)
    assert loan.servicing_status is ServicingStatus.PAID_OFF and loan.principal_outstanding == 0
    for note in notes:
        db.session.refresh(note)
        assert note.status is InvestmentStatus.PAID_OFF and note.principal_outstanding == 0
    # The noteholders' interest over the loan's life: the six regular installments before the
    # plan, the regular interest of the plan's installments paid and accrued, and all of H.
    original, _ = ref.level(D("10000.00"), D("10.99"), 36, date(2024, 2, 15), 15)
    assert D("10000.00") - sum(p for _, p, _ in original[:6]) == D("8552.64")
    before = sum(i for _, _, i in original[:6])
    assert _interest_received(notes) == before + regular + held
    _assert_pro_rata(loan, notes)
    assert ledger.verify(db.session) == []
    assert_ledger_balances()


def test_a_prepayment_during_a_spread_holiday_schedule_keeps_the_holiday_interest_owed():
    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.HOLIDAY, {"months": 2}, SPREAD)
    for row in _open(loan)[:3]:
        _pay(loan, row.principal_due + row.interest_due, row.due_date)
    on = date(2025, 1, 5)
    running = _open(loan)[0]
    owed, share, principal = (
        _spread_owed(loan),
        running.deferred_interest_due,
        running.principal_due,
    )
    accrued = repayments.payoff_amount(db.session, loan, on).interest - owed + share
    payment = _pay(loan, accrued + principal + D("100.00"), on)
    # The running installment's interest (its share and the regular part accrued) and its
    # principal, then $100 of the later installments' shares: no principal beyond it.
    to_spread = payment.interest_applied - (accrued - share)
    assert to_spread == share + D("100.00")
    assert _spread_owed(loan) == owed - to_spread == D("35.77")
    assert payment.principal_applied == principal
    rows = _open(loan)
    assert rows[0].accrual_start == on
    assert sum(r.interest_due for r in rows) >= D("35.77")
    _pay_to_the_end(loan, notes)
    assert _spread_owed(loan) == 0
    _assert_pro_rata(loan, notes)
    assert ledger.verify(db.session) == []
    assert_ledger_balances()


def test_a_large_prepayment_collects_the_spread_shares_before_principal():
    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.HOLIDAY, {"months": 2}, SPREAD)
    first = _open(loan)[0]
    _pay(loan, first.principal_due + first.interest_due, first.due_date)
    on = date(2024, 11, 5)
    running = _open(loan)[0]
    owed, share, principal = (
        _spread_owed(loan),
        running.deferred_interest_due,
        running.principal_due,
    )
    interest_now = repayments.payoff_amount(db.session, loan, on).interest - owed + share
    payment = _pay(loan, interest_now + principal + D("2000.00"), on)
    assert owed == D("156.65") - D("5.22") and share == D("5.22")
    # Its interest and principal, then every later share, then principal beyond it.
    assert payment.interest_applied == interest_now + owed - share
    assert payment.principal_applied == principal + D("2000.00") - (owed - share)
    assert _spread_owed(loan) == 0
    held_interest = _interest_received(notes)
    _pay_to_the_end(loan, notes)
    assert _interest_received(notes) > held_interest
    for note in notes:
        db.session.refresh(note)
        assert note.status is InvestmentStatus.PAID_OFF and note.principal_outstanding == 0
    assert ledger.verify(db.session) == []
    assert_ledger_balances()


def test_a_spread_holiday_loan_prices_its_unpaid_shares_as_accrued_in_sql_and_python():
    from app.services.trading import book, pricing
    from tests.money.test_note_price_in_sql import _compare

    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.HOLIDAY, {"months": 2}, SPREAD)
    day, checked = ASKED, 0
    while day <= date(2025, 1, 10):
        if day in (date(2024, 10, 15), date(2024, 11, 15)):
            _pay(loan, loan.monthly_payment + D("5.22"), day)
        if day == date(2024, 12, 5):  # its share, its interest to the day, part of its principal
            owed = _spread_owed(loan)
            _pay(
                loan, repayments.payoff_amount(db.session, loan, day).interest - owed + D("60"), day
            )
        checked += _compare(loan, notes, day)
        # The seller is owed what the payoff would ask as interest (the holiday's shares too).
        schedule = book.open_installments(db.session, [loan.id])[loan.id]
        owed = pricing.loan_accrued_interest(schedule, day)
        assert owed == repayments.payoff_amount(db.session, loan, day).interest, day
        day = date.fromordinal(day.toordinal() + 5)
    assert checked > 100


def test_a_plan_over_a_spread_holiday_carries_the_unpaid_shares():
    loan, notes = _loan_after_six()
    _through(loan, ModificationKind.HOLIDAY, {"months": 2}, SPREAD)
    first = _open(loan)[0]
    _pay(loan, first.principal_due + first.interest_due, first.due_date)
    assert _spread_owed(loan) == D("151.43")  # 156.65 − 5.22
    done = _through(
        loan, ModificationKind.REAMORTISATION, {"term": 48}, SPREAD, today=date(2024, 10, 20)
    )
    rows = _open(loan)
    assert _spread_owed(loan) == D("151.43") and done.terms["carried_interest"] == "151.43"
    plain = ref.reamortise(loan.principal_outstanding, D("10.99"), 48, date(2024, 11, 15), 15)
    assert [(r.due_date, r.principal_due) for r in rows] == [(d, p) for d, p, _ in plain]
    assert sum(r.interest_due for r in rows) == sum(i for _, _, i in plain) + D("151.43")
    _pay_to_the_end(loan, notes)
    _assert_pro_rata(loan, notes)
    assert_ledger_balances()
