"""The outside audit's findings (issue 13, points 1-4), each reproduced before it was fixed.

Figures are derived here from the published rules (FTC 16 CFR 444.4, LendingClub's fee cap,
30/360 simple interest), not read back from the code.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Installment, InstallmentStatus, PaymentAllocation, ServicingStatus
from app.services.errors import DomainError
from app.services.servicing import repayments, servicing
from tests.builders import assert_ledger_balances, issued_loan, key

D = Decimal
CENT = D("0.01")


def _pay(loan, amount, on):
    return repayments.apply_payment(
        db.session, loan.id, D(amount), received_on=on, idempotency_key=key()
    )


def _installments(loan):
    return db.session.scalars(
        select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.number)
    ).all()


def _cycle(start, end):
    for day in servicing.business_dates(start, end):
        servicing.run_cycle(db.session, day)


def _fee(payment):
    rows = db.session.scalars(
        select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)
    ).all()
    return sum((r.servicing_fee for r in rows), D(0))


def test_one_late_payment_draws_one_late_fee_and_never_delinquency_again():
    """FTC Credit Practices Rule: no fee pyramiding. Pay installment 1 twenty days late, then
    exactly the scheduled amount on every due date."""
    loan, _ = issued_loan(["1000", "2000"], rate="12", term=12, issued_on=date(2024, 1, 15))
    scheduled = loan.monthly_payment
    first_due = _installments(loan)[0].due_date
    _cycle(date(2024, 1, 16), first_due + timedelta(days=20))
    _pay(loan, scheduled, first_due + timedelta(days=20))
    assert loan.days_past_due == 0 and loan.servicing_status is ServicingStatus.CURRENT
    statuses = set()
    day = first_due + timedelta(days=21)
    for installment in _installments(loan)[1:]:
        _cycle(day, installment.due_date)
        _pay(loan, installment.principal_due + installment.interest_due, installment.due_date)
        day = installment.due_date + timedelta(days=1)
        _cycle(day, day + timedelta(days=20))  # the next due date is a month away
        day += timedelta(days=21)
        statuses.add(loan.servicing_status)
        assert loan.days_past_due == 0
    fees = [i.fee_due for i in _installments(loan) if i.fee_due]
    assert fees == [D("15.00")]  # max($15, 5% of 266.55): once, on the first installment
    assert statuses == {ServicingStatus.CURRENT}
    assert all(i.status is InstallmentStatus.PAID for i in _installments(loan))
    # The fee is owed, not delinquency: the loan stays open until it is paid, then closes.
    assert loan.principal_outstanding == 0
    assert repayments.payoff_amount(db.session, loan, day).total == D("15.00")
    _cycle(day, day + timedelta(days=200))
    assert loan.servicing_status is ServicingStatus.CURRENT
    _pay(loan, "15.00", day + timedelta(days=200))
    assert loan.servicing_status is ServicingStatus.PAID_OFF
    assert_ledger_balances()


def test_a_payment_of_the_scheduled_amount_is_never_taken_by_an_earlier_fee():
    loan, _ = issued_loan(["5000"], rate="10.99", term=36, issued_on=date(2024, 1, 15))
    _cycle(date(2024, 1, 16), date(2024, 3, 5))  # installment 1 late, fee at day 16
    first, second = _installments(loan)[:2]
    assert first.fee_due == D("15.00")
    # Two scheduled amounts, the second ten days early: both installments are paid (the second
    # with the interest earned by today); only what is left over reaches the fee.
    payment = _pay(loan, loan.monthly_payment * 2, date(2024, 3, 5))
    assert first.status is second.status is InstallmentStatus.PAID
    assert second.interest_paid == (second.interest_due) < _installments(loan)[2].interest_due
    assert payment.fees_applied == min(
        D("15.00"), loan.monthly_payment - second.principal_due - second.interest_due
    )
    servicing.run_cycle(db.session, date(2024, 3, 6))
    assert loan.days_past_due == 0


def test_the_fee_cap_holds_on_a_month_two_payoff():
    """Audit: a month-2 payoff was charged $98.08; LendingClub caps the fee on a first-year
    prepayment at 1% of the regular payment."""
    loan, _ = issued_loan(["10000"], issued_on=date(2024, 1, 15))
    _pay(loan, "327.34", date(2024, 2, 15))
    quote = repayments.payoff_amount(db.session, loan, date(2024, 3, 1))
    payment = _pay(loan, quote.total, date(2024, 3, 1))
    assert _fee(payment) == D("3.27")  # 1% x 327.34, half-even
    assert loan.servicing_status is ServicingStatus.PAID_OFF


def test_prepaying_never_lowers_the_fee_on_what_was_overdue():
    """Audit: adding $328.34 of prepayment to three overdue installments lowered the fee on
    the overdue part from $10.15 to $3.27."""
    fees = []
    for year, extra in ((2024, D("0")), (2026, D("328.34"))):  # cycles run once per date
        loan, _ = issued_loan(["10000"], issued_on=date(year, 1, 15))
        _cycle(date(year, 1, 16), date(year, 4, 20))
        installments = _installments(loan)
        overdue = sum(i.scheduled_left for i in installments if i.due_date <= date(year, 4, 20))
        late_fees = sum((i.fee_outstanding for i in installments), D(0))
        assert (overdue, late_fees) == (D("327.34") * 3, D("16.37") * 2)
        fees.append(_fee(_pay(loan, overdue + late_fees + extra, date(year, 4, 20))))
    # 1% of the overdue installments alone is 9.82; the first-year cap is 3.27.
    assert D("9.82") <= fees[0] <= fees[1]


def test_paying_the_next_installment_early_is_not_charged_interest_again_at_payoff():
    loan, _ = issued_loan(["10000"], issued_on=date(2024, 1, 15))
    early = _pay(loan, "327.34", date(2024, 2, 10))  # five days before the due date
    # 25 of 30 days of installment 1's 91.58 have accrued; the rest is principal.
    assert early.interest_applied == D("76.32")
    assert early.principal_applied == D("327.34") - D("76.32")
    first, second = _installments(loan)[:2]
    assert first.status is InstallmentStatus.PAID
    balance = D("10000") - early.principal_applied
    quote = repayments.payoff_amount(db.session, loan, date(2024, 2, 12))
    # Interest since Feb 10 only (2 days of 30/360), never again since Jan 15.
    assert quote.interest == _simple_interest(balance, "10.99", 2)
    assert second.accrual_start == date(2024, 2, 10)
    payoff = _pay(loan, quote.total, date(2024, 2, 12))
    assert early.interest_applied + payoff.interest_applied == D("76.32") + quote.interest
    assert loan.servicing_status is ServicingStatus.PAID_OFF


def _simple_interest(balance, rate, days):
    return (balance * D(rate) / 100 * days / 360).quantize(CENT)


@pytest.mark.parametrize("short_by", ["0.01", "0.02", "1.00", "327.34"])
def test_just_below_the_payoff_of_a_loan_two_installments_behind(short_by):
    """Audit: one cent below the payoff of a loan two installments behind violated
    ck_investments_principal_within_amount."""
    loan, notes = issued_loan(["2500", "7500"], issued_on=date(2025, 1, 15))
    _cycle(date(2025, 1, 16), date(2025, 4, 1))
    quote = repayments.payoff_amount(db.session, loan, date(2025, 4, 1))
    payment = _pay(loan, quote.total - D(short_by), date(2025, 4, 1))
    assert payment.interest_applied <= quote.interest
    assert loan.principal_outstanding >= 0
    assert all(0 <= n.principal_outstanding <= n.amount for n in notes)
    left = repayments.payoff_amount(db.session, loan, date(2025, 4, 1))
    assert left.total == D(short_by)
    _pay(loan, left.total, date(2025, 4, 1))
    assert loan.servicing_status is ServicingStatus.PAID_OFF
    assert_ledger_balances()


def test_one_cent_below_the_payoff_takes_no_more_interest_than_the_payoff():
    loan, _ = issued_loan(["10000"], issued_on=date(2024, 1, 15))
    _pay(loan, "327.34", date(2024, 2, 15))
    quote = repayments.payoff_amount(db.session, loan, date(2024, 3, 1))
    payment = _pay(loan, quote.total - CENT, date(2024, 3, 1))
    assert payment.interest_applied == quote.interest
    assert loan.principal_outstanding == CENT
    # The cent left earns no interest worth a cent, however long it waits for its due date.
    assert repayments.payoff_amount(db.session, loan, date(2024, 3, 14)).total == CENT


@pytest.mark.parametrize("behind", [0, 2])
def test_every_amount_up_to_the_payoff_is_applied_or_refused_cleanly(behind):
    loan, _ = issued_loan(["2500", "7500"], issued_on=date(2025, 1, 15))
    today = date(2025, 1, 15) + timedelta(days=31 * behind + 10)
    _cycle(date(2025, 1, 16), today)
    for amount in ("0.01", "0.99", "15.00", "327.33", "327.34", "1000.00", "4321.09"):
        _pay(loan, amount, today)
        assert_ledger_balances()
    total = repayments.payoff_amount(db.session, loan, today).total
    with pytest.raises(DomainError, match="pays the loan off"):
        _pay(loan, total + CENT, today)
    _pay(loan, total, today)
    assert loan.servicing_status is ServicingStatus.PAID_OFF
