"""The loan page's payments on a date: schedule, cancel, autopay; bad input is a 422 fragment
that changes nothing; nobody reaches another borrower's loan."""

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Role, ScheduledPayment, ScheduledPaymentStatus
from tests.builders import issued_loan
from tests.factories import CompleteUserFactory
from tests.helpers import HX


@pytest.fixture()
def my_loan(login):
    loan, _ = issued_loan(["2500", "7500"], issued_on=date.today().replace(day=1))
    login(loan.borrower)
    return loan


def _schedule(client, loan, amount="150.00", pay_on=None, key=None):
    pay_on = pay_on or date.today() + timedelta(days=10)
    return client.post(
        f"/borrower/loans/{loan.id}/scheduled",
        data={
            "schedule-amount": amount,
            "schedule-pay_on": pay_on.isoformat() if isinstance(pay_on, date) else pay_on,
            "schedule-idempotency_key": key or str(uuid.uuid4()),
        },
        headers=HX,
    )


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ScheduledPayment))


def test_a_scheduled_payment_is_listed_once_and_can_be_cancelled(client, my_loan):
    key = str(uuid.uuid4())
    first, again = _schedule(client, my_loan, key=key), _schedule(client, my_loan, key=key)
    assert first.status_code == again.status_code == 204 and _count() == 1
    page = client.get(f"/borrower/loans/{my_loan.id}").get_data(as_text=True)
    assert "Payment of $150.00 scheduled for" in page and "No payments scheduled." not in page
    (planned,) = db.session.scalars(select(ScheduledPayment)).all()
    cancelled = client.post(
        f"/borrower/loans/{my_loan.id}/scheduled/{planned.id}/cancel", headers=HX
    )
    assert cancelled.status_code == 204
    db.session.refresh(planned)
    assert planned.status is ScheduledPaymentStatus.CANCELLED


@pytest.mark.parametrize(
    ("amount", "pay_on", "message"),
    [
        ("150.00", date.today(), "Choose a date after today"),
        ("150.00", "not a date", "Not a valid date value."),
        ("999999.00", None, "pays the loan off"),
        ("NaN", None, "Enter an amount in dollars and cents."),
        ("", None, "Enter the amount to pay."),
    ],
)
def test_bad_input_is_a_422_fragment_and_schedules_nothing(
    client, my_loan, amount, pay_on, message
):
    response = _schedule(client, my_loan, amount=amount, pay_on=pay_on)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body and "<html" not in body
    assert _count() == 0


def test_autopay_on_then_off(client, my_loan):
    assert (
        client.post(f"/borrower/loans/{my_loan.id}/autopay", data={"autopay": "on"}).status_code
        == 303
    )
    db.session.refresh(my_loan)
    assert my_loan.autopay_since is not None
    assert "Autopay is <strong>on</strong>" in client.get(f"/borrower/loans/{my_loan.id}").get_data(
        as_text=True
    )
    client.post(f"/borrower/loans/{my_loan.id}/autopay", data={"autopay": "off"})
    db.session.refresh(my_loan)
    assert my_loan.autopay_since is None


def test_another_borrower_reaches_none_of_it(client, login, my_loan):
    _schedule(client, my_loan)
    (planned,) = db.session.scalars(select(ScheduledPayment)).all()
    login(CompleteUserFactory(role=Role.BORROWER))
    assert _schedule(client, my_loan).status_code == 404
    assert (
        client.post(f"/borrower/loans/{my_loan.id}/autopay", data={"autopay": "on"}).status_code
        == 404
    )
    assert (
        client.post(f"/borrower/loans/{my_loan.id}/scheduled/{planned.id}/cancel").status_code
        == 404
    )
    db.session.refresh(planned)
    assert planned.status is ScheduledPaymentStatus.SCHEDULED and _count() == 1
