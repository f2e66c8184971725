"""Payments: allocation order, the split to notes, servicing fees, prepayment, payoff, recovery."""

from datetime import date
from decimal import ROUND_FLOOR, Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Installment,
    InstallmentStatus,
    InvestmentStatus,
    PaymentAllocation,
    ServicingStatus,
)
from app.services.errors import DomainError
from app.services.money import cash
from app.services.servicing import repayments, servicing
from tests.builders import assert_ledger_balances, issued_loan, key

D = Decimal
G13_NOTES = ["25", "50", "125", "300", "9500"]


def _pay(loan, amount, on, request_key=None):
    return repayments.apply_payment(
        db.session, loan.id, D(amount), received_on=on, idempotency_key=request_key or key()
    )


def _allocations(payment):
    return db.session.scalars(
        select(PaymentAllocation)
        .where(PaymentAllocation.payment_id == payment.id)
        .order_by(PaymentAllocation.investment_id)
    ).all()


def _installments(loan):
    return db.session.scalars(
        select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.number)
    ).all()


def test_g13_first_payment_splits_to_the_cent_with_1_percent_fees():
    loan, notes = issued_loan(G13_NOTES)
    payment = _pay(loan, "327.34", date(2024, 2, 15))
    rows = _allocations(payment)
    assert [r.interest for r in rows] == [D(x) for x in ("0.23", "0.46", "1.14", "2.75", "87.00")]
    assert [r.principal for r in rows] == [D(x) for x in ("0.59", "1.18", "2.95", "7.07", "223.97")]
    assert [r.servicing_fee for r in rows] == [
        D(x) for x in ("0.01", "0.02", "0.04", "0.10", "3.11")
    ]
    smallest = notes[0]
    assert cash.available_cash(db.session, smallest.lender_id) == D("0.23") + D("0.59") - D("0.01")
    assert smallest.principal_outstanding == D("24.41")
    assert loan.principal_outstanding == D("9764.24")
    assert _installments(loan)[0].status is InstallmentStatus.PAID
    assert_ledger_balances()


def test_a_repeated_payment_key_applies_once():
    loan, _ = issued_loan(["1000"])
    request_key = key()
    first = _pay(loan, "100.00", date(2024, 2, 15), request_key)
    again = _pay(loan, "100.00", date(2024, 2, 15), request_key)
    assert first.id == again.id
    assert loan.principal_outstanding == D("1000.00") - first.principal_applied


def test_g15_g17_delinquency_timeline_and_late_fee():
    loan, _ = issued_loan(["10000"], issued_on=date(2023, 12, 15))  # first due 2024-01-15
    expected = {
        date(2024, 1, 15): (ServicingStatus.CURRENT, 0),
        date(2024, 1, 16): (ServicingStatus.GRACE, 1),
        date(2024, 1, 30): (ServicingStatus.GRACE, 15),
        date(2024, 1, 31): (ServicingStatus.LATE_16_30, 16),
        date(2024, 2, 15): (ServicingStatus.LATE_31_120, 31),
        date(2024, 5, 14): (ServicingStatus.LATE_31_120, 120),
        date(2024, 5, 15): (ServicingStatus.DEFAULT, 121),
    }
    seen = {}
    for day in servicing.business_dates(date(2024, 1, 15), date(2024, 5, 15)):
        servicing.run_cycle(db.session, day)
        if day in expected:
            db.session.refresh(loan)
            seen[day] = (loan.servicing_status, loan.days_past_due)
        if day == date(2024, 1, 30):
            assert _installments(loan)[0].fee_due == 0
        if day == date(2024, 1, 31):
            first = _installments(loan)[0]
            assert (first.fee_due, first.status) == (D("16.37"), InstallmentStatus.LATE)
    assert seen == expected
    fees = [i.fee_due for i in _installments(loan) if i.fee_due]
    assert fees[0] == D("16.37") and all(fee == D("16.37") for fee in fees)
    assert_ledger_balances()


def test_g17_charge_off_at_150_days_moves_note_principal_to_credit_losses():
    loan, notes = issued_loan(["4000", "6000"], issued_on=date(2023, 12, 15))
    for day in servicing.business_dates(date(2024, 6, 12), date(2024, 6, 13)):
        servicing.run_cycle(db.session, day)
    db.session.refresh(loan)
    assert loan.servicing_status is ServicingStatus.CHARGED_OFF
    assert loan.closed_at.date() == date(2024, 6, 13)
    assert all(
        n.status is InvestmentStatus.CHARGED_OFF and n.principal_outstanding == 0 for n in notes
    )
    assert_ledger_balances()
    assert servicing.run_cycle(db.session, date(2024, 6, 13))["charged_off"] == 1  # same run


def test_cycle_runs_once_per_business_date():
    loan, _ = issued_loan(["1000"], issued_on=date(2023, 12, 15))
    first = servicing.run_cycle(db.session, date(2024, 1, 31))
    second = servicing.run_cycle(db.session, date(2024, 1, 31))
    assert first == second and first["late_fees"] == 1
    assert _installments(loan)[0].fee_due == D("15.00")  # 5% of 32.73 < the $15 floor


def test_a_late_payment_pays_the_oldest_scheduled_amount_before_any_late_fee():
    loan, notes = issued_loan(["10000"], issued_on=date(2023, 12, 15))
    for day in servicing.business_dates(date(2024, 1, 15), date(2024, 2, 20)):
        servicing.run_cycle(db.session, day)
    payment = _pay(loan, "100.00", date(2024, 2, 20))
    assert (payment.fees_applied, payment.interest_applied, payment.principal_applied) == (
        D("0.00"),
        D("91.58"),
        D("8.42"),
    )
    first, second = _installments(loan)[:2]
    assert first.fee_due == D("16.37") and first.fee_paid == 0
    assert second.interest_paid == 0
    # What cures both installments leaves the fee owed, and the loan current: the fee is
    # not delinquency.
    _pay(loan, str(D("327.34") * 2 - D("100.00")), date(2024, 2, 21))
    assert first.status is second.status is InstallmentStatus.PAID
    assert first.fee_outstanding == D("16.37")
    assert loan.servicing_status is ServicingStatus.CURRENT and loan.days_past_due == 0
    lender_cash = cash.available_cash(db.session, notes[0].lender_id)
    assert lender_cash == D("654.68") - D("1.00") - D("5.55")  # less 1% of each payment
    assert_ledger_balances()


def test_prepayment_keeps_the_payment_and_shortens_the_schedule():
    loan, _ = issued_loan(["10000"])
    _pay(loan, "327.34", date(2024, 2, 15))
    _pay(loan, "327.34", date(2024, 3, 15))
    third, fourth, fifth = _installments(loan)[2:5]
    fourth_principal = fourth.principal_due
    payment = _pay(loan, "5327.34", date(2024, 4, 15))  # G16: a month-3 prepayment of 5,000
    # What is due, then early money: no interest has accrued yet on the fourth installment's
    # period (it starts today), so the rest is principal and the period ends today.
    assert payment.interest_applied == third.interest_due == D("87.24")
    assert payment.principal_applied == D("5327.34") - D("87.24")
    assert fourth.status is InstallmentStatus.PAID and fourth.interest_due == 0
    assert fourth.principal_paid == fourth_principal
    balance = loan.principal_outstanding
    assert balance == D("10000.00") - D("235.76") - D("237.92") - payment.principal_applied
    # The fifth installment's interest runs from today: two months of 30/360 on the balance.
    assert fifth.accrual_start == date(2024, 4, 15)
    # (rounded down, as interest is under LendingClub's convention)
    exact = balance * D("10.99") / 100 * 60 / 360
    assert fifth.interest_due == exact.quantize(D("0.01"), rounding=ROUND_FLOOR)
    live = [i for i in _installments(loan) if i.status is not InstallmentStatus.CANCELLED]
    assert len(live) < 36
    assert all(i.principal_due + i.interest_due == D("327.34") for i in live[4:-1])
    assert sum(i.principal_due for i in live[4:]) == balance
    fee_total = sum(r.servicing_fee for r in _allocations(payment))
    assert fee_total == D("3.27")  # capped at 1% of the regular payment (uncapped: 53.27)
    assert_ledger_balances()


def test_payoff_quote_pays_the_loan_off_and_closes_the_notes():
    loan, notes = issued_loan(["2500", "7500"])
    _pay(loan, "327.34", date(2024, 2, 15))
    quote = repayments.payoff_amount(db.session, loan, date(2024, 3, 1))
    # 30/360: Feb 15 to Mar 1 is 16 of the period's 30 days; 89.42 x 16 / 30 = 47.69.
    assert quote.principal == D("9764.24") and quote.interest == D("47.69")
    with pytest.raises(DomainError, match="pays the loan off"):
        _pay(loan, str(quote.total + D("0.01")), date(2024, 3, 1))
    _pay(loan, str(quote.total), date(2024, 3, 1))
    assert loan.servicing_status is ServicingStatus.PAID_OFF
    assert loan.principal_outstanding == 0
    assert all(n.status is InvestmentStatus.PAID_OFF for n in notes)
    with pytest.raises(DomainError, match="not being repaid"):
        _pay(loan, "1.00", date(2024, 3, 2))
    assert_ledger_balances()


def test_paying_every_installment_on_time_repays_exactly_the_schedule():
    loan, notes = issued_loan(["1000", "3000"], rate="12", term=12)
    for installment in _installments(loan):
        _pay(loan, str(installment.principal_due + installment.interest_due), installment.due_date)
    assert loan.servicing_status is ServicingStatus.PAID_OFF
    received = db.session.scalars(select(PaymentAllocation)).all()
    assert sum(r.principal for r in received) == D("4000.00")
    for note in notes:
        mine = [r for r in received if r.investment_id == note.id]
        assert sum(r.principal for r in mine) == note.amount
    assert_ledger_balances()


def test_recoveries_after_charge_off_go_to_the_charged_off_notes():
    loan, notes = issued_loan(["1000", "3000"])
    servicing.charge_off(db.session, loan.id, date(2024, 3, 1), reason="bankruptcy")
    payment = _pay(loan, "400.00", date(2024, 4, 1))
    rows = _allocations(payment)
    assert [r.recovery for r in rows] == [D("100.00"), D("300.00")]
    assert [r.servicing_fee for r in rows] == [D("1.00"), D("3.00")]
    assert cash.available_cash(db.session, notes[1].lender_id) == D("297.00")
    with pytest.raises(DomainError, match="still owed"):
        _pay(loan, "9600.01", date(2024, 4, 2))
    assert_ledger_balances()
