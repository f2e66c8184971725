"""Net Annualized Return (G14) and the lender account summary."""

from datetime import date
from decimal import Decimal

from app.extensions import db
from app.services.servicing import repayments, returns, servicing
from tests.builders import issued_loan, key, lender

D = Decimal


def _pay_on_time(loan, months):
    for installment in sorted(loan.installments, key=lambda i: i.number)[:months]:
        repayments.apply_payment(
            db.session,
            loan.id,
            installment.principal_due + installment.interest_due,
            received_on=installment.due_date,
            idempotency_key=key(),
        )


def test_g14_the_nar_formula():
    assert returns.annualize(D("49.68"), D("5642.00")) == D("11.0935")
    assert returns.annualize(D("8.83"), D("1000.00")) == D("11.1260")
    assert returns.annualize(D("-917.91"), D("11524.10")) == D("-63.0658")
    assert returns.annualize(D("0"), D("0")) is None


def test_g14_nar_of_a_performing_note():
    investor = lender(D("1000"))
    loan, _ = issued_loan(["9000", "1000"], lenders=[lender(D("9000")), investor])
    _pay_on_time(loan, 6)
    sixth_due = sorted(loan.installments, key=lambda i: i.number)[5].due_date
    gains, principal = returns.note_month_totals(db.session, investor.id, sixth_due)
    # G14 rounds the note's share of each month half-even in isolation (ΣN 49.68); the
    # platform's cumulative split pays the note the cent that rounding withholds.
    assert (gains, principal) == (D("49.69"), D("5642.00"))
    assert returns.net_annualized_return(db.session, investor.id, sixth_due) == D("11.0959")


def test_g14_nar_with_a_charged_off_note():
    investor = lender(D("2000"))
    loan_a, _ = issued_loan(["9000", "1000"], lenders=[lender(D("9000")), investor])
    loan_b, _ = issued_loan(["9000", "1000"], lenders=[lender(D("9000")), investor])
    _pay_on_time(loan_a, 6)
    _pay_on_time(loan_b, 1)
    dues = sorted(loan_b.installments, key=lambda i: i.number)
    servicing.charge_off(db.session, loan_b.id, dues[4].due_date.replace(day=20), reason="test")
    as_of = dues[5].due_date
    gains, principal = returns.note_month_totals(db.session, investor.id, as_of)
    assert (gains, principal) == (D("-917.90"), D("11524.10"))  # G14 with the cent above
    assert returns.net_annualized_return(db.session, investor.id, as_of) == returns.annualize(
        gains, principal
    )
    summary = returns.summary(db.session, investor.id, as_of)
    assert summary.charged_off_principal == D("976.42")
    assert summary.outstanding_principal == D("1000.00") - summary.received_principal + D("23.58")


def test_new_lender_has_no_nar_yet():
    investor = lender(D("100"))
    assert returns.net_annualized_return(db.session, investor.id, date(2024, 1, 1)) is None


def test_adjusted_nar_subtracts_expected_loss_on_late_notes():
    investor = lender(D("1000"))
    loan, _ = issued_loan(
        ["1000", "9000"], lenders=[investor, lender(D("9000"))], issued_on=date(2023, 12, 15)
    )
    _pay_on_time(loan, 1)
    for day in servicing.business_dates(date(2024, 2, 15), date(2024, 3, 1)):
        servicing.run_cycle(db.session, day)
    as_of = date(2024, 3, 1)
    plain = returns.net_annualized_return(db.session, investor.id, as_of)
    adjusted = returns.net_annualized_return(db.session, investor.id, as_of, adjusted=True)
    assert adjusted < plain
