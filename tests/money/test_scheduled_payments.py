"""Scheduled payments and autopay, collected by the daily cycle through the payment provider.

The oracles are the schedule and the ledger: a year of autopay must pay every installment on
its due date, to the cent of the amortization schedule, with no late fee and a balanced ledger;
a payment is collected once however often the cycle or the collection runs; a declined one is
tried the policy's number of times, each try its own provider key, and the borrower hears."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.integrations.payments import SimulatedGateway
from app.models import (
    Installment,
    InstallmentStatus,
    Notification,
    Payment,
    PaymentType,
    ScheduledPayment,
    ScheduledPaymentStatus,
)
from app.services.errors import DomainError, IdempotencyMismatch, ValidationFailed
from app.services.money.payments import PaymentDeclined
from app.services.policy import DEFAULT_POLICY
from app.services.servicing import repayments, scheduled_payments, servicing
from tests.builders import assert_ledger_balances, issued_loan

D = Decimal
ISSUED = date(2025, 1, 15)


class DecliningGateway(SimulatedGateway):
    """The simulated provider with an account that declines its first `declines` charges."""

    def __init__(self, declines: int):
        self.declines, self.keys = declines, []

    def charge(self, amount, *, metadata, key):
        self.keys.append(key)
        if len(self.keys) <= self.declines:
            raise PaymentDeclined("Your bank declined the payment (insufficient funds).")
        return super().charge(amount, metadata=metadata, key=key)


@pytest.fixture()
def loan():
    loan, _ = issued_loan(["3000", "2000"], issued_on=ISSUED)
    return loan


def _schedule(loan, amount="200.00", pay_on=date(2025, 3, 1), key="s-1", today=ISSUED):
    return scheduled_payments.schedule(
        db.session, loan, D(amount), pay_on, payer_id=loan.borrower_id, key=key, today=today
    )


def _cycle(day, gateway=None):
    return servicing.run_cycle(
        db.session, day, DEFAULT_POLICY, gateway=gateway or SimulatedGateway()
    )


def _payments(loan) -> list[Payment]:
    return db.session.scalars(select(Payment).where(Payment.loan_id == loan.id)).all()


def test_a_payment_is_scheduled_only_for_a_later_date_the_loan_can_take(loan):
    with pytest.raises(ValidationFailed, match="after today"):
        _schedule(loan, pay_on=ISSUED)
    with pytest.raises(ValidationFailed, match="within 365 days"):
        _schedule(loan, pay_on=ISSUED + timedelta(days=366))
    with pytest.raises(DomainError, match="pays the loan off"):
        _schedule(loan, amount="9000.00")
    with pytest.raises(ValidationFailed):
        _schedule(loan, amount="10.005")
    first = _schedule(loan)
    assert _schedule(loan) is first  # the same request again
    with pytest.raises(IdempotencyMismatch):
        _schedule(loan, amount="250.00")


def test_the_cycle_collects_on_the_date_once_however_often_it_runs(loan):
    planned = _schedule(loan, pay_on=date(2025, 2, 3))
    for day in (date(2025, 2, 1), date(2025, 2, 2)):
        _cycle(day)
    assert _payments(loan) == [] and planned.status is ScheduledPaymentStatus.SCHEDULED
    stats = _cycle(date(2025, 2, 3))
    assert stats["scheduled_collected"] == 1
    (payment,) = _payments(loan)
    assert (payment.amount, payment.received_on) == (D("200.00"), date(2025, 2, 3))
    assert planned.status is ScheduledPaymentStatus.COLLECTED and planned.payment_id == payment.id
    # The same date again, and the collection itself again: nothing more is taken.
    _cycle(date(2025, 2, 3))
    again = scheduled_payments.collect_due(
        db.session, SimulatedGateway(), date(2025, 2, 3), DEFAULT_POLICY
    )
    assert again["scheduled_collected"] == 0 and len(_payments(loan)) == 1
    assert_ledger_balances()


def test_a_cancelled_payment_is_never_collected_and_cancelling_ends_on_its_day(loan):
    planned = _schedule(loan, pay_on=date(2025, 2, 3))
    cancelled = scheduled_payments.cancel(
        db.session, planned.id, loan.borrower_id, date(2025, 2, 2)
    )
    assert cancelled.status is ScheduledPaymentStatus.CANCELLED
    _cycle(date(2025, 2, 3))
    assert _payments(loan) == []
    later = _schedule(loan, pay_on=date(2025, 2, 10), key="s-2", today=date(2025, 2, 3))
    with pytest.raises(DomainError, match="no longer be cancelled"):
        scheduled_payments.cancel(db.session, later.id, loan.borrower_id, date(2025, 2, 10))
    with pytest.raises(DomainError, match="No such"):
        scheduled_payments.cancel(db.session, later.id, loan.borrower_id + 999, date(2025, 2, 4))


def test_a_declined_payment_is_tried_again_then_fails_and_the_borrower_hears(loan):
    planned = _schedule(loan, pay_on=date(2025, 2, 3))
    gateway = DecliningGateway(declines=3)
    _cycle(date(2025, 2, 3), gateway)
    assert planned.status is ScheduledPaymentStatus.SCHEDULED
    assert (
        planned.next_attempt_on == date(2025, 2, 6) and "insufficient funds" in planned.last_error
    )
    _cycle(date(2025, 2, 4), gateway)
    _cycle(date(2025, 2, 5), gateway)
    assert len(gateway.keys) == 1  # nothing between the tries
    _cycle(date(2025, 2, 6), gateway)
    _cycle(date(2025, 2, 9), gateway)
    assert planned.status is ScheduledPaymentStatus.FAILED and planned.attempts == 3
    assert len(set(gateway.keys)) == 3  # each try its own charge at the provider
    titles = db.session.scalars(
        select(Notification.title).where(Notification.user_id == loan.borrower_id)
        .order_by(Notification.id)
    ).all()  # fmt: skip
    assert titles.count("Your scheduled payment did not go through") == 2
    assert titles[-1] == "Your scheduled payment could not be collected"
    first_notice = db.session.scalars(
        select(Notification).where(Notification.kind == "payment.scheduled_retry")
        .order_by(Notification.id)
    ).first()  # fmt: skip
    assert first_notice.data == {
        "loan_id": loan.id, "scheduled_payment_id": planned.id, "amount": "200.00",
        "attempts": 1, "next_attempt_on": "2025-02-06",
        "reason": "Your bank declined the payment (insufficient funds).",
    }  # fmt: skip
    assert _payments(loan) == []
    _cycle(date(2025, 2, 12), gateway)
    assert len(gateway.keys) == 3  # a failed payment is never tried again


def test_a_payment_declined_once_is_collected_on_the_retry(loan):
    planned = _schedule(loan, pay_on=date(2025, 2, 3))
    gateway = DecliningGateway(declines=1)
    _cycle(date(2025, 2, 3), gateway)
    _cycle(date(2025, 2, 6), gateway)
    assert planned.status is ScheduledPaymentStatus.COLLECTED and planned.attempts == 2
    (payment,) = _payments(loan)
    assert payment.received_on == date(2025, 2, 6)
    assert (
        payment.provider_ref
        == SimulatedGateway().charge(D(1), metadata={}, key=gateway.keys[1]).reference
    )


def test_a_payment_the_loan_can_no_longer_take_fails_without_a_charge(loan):
    planned = _schedule(loan, amount="4000.00", pay_on=date(2025, 3, 20))
    quote = repayments.payoff_amount(db.session, loan, date(2025, 3, 1)).total
    repayments.apply_payment(
        db.session, loan.id, quote, received_on=date(2025, 3, 1), idempotency_key="off"
    )
    gateway = DecliningGateway(declines=0)
    _cycle(date(2025, 3, 20), gateway)
    assert (
        planned.status is ScheduledPaymentStatus.FAILED and "not being repaid" in planned.last_error
    )
    assert gateway.keys == []


def test_a_year_of_autopay_pays_every_installment_on_its_due_date_to_the_cent(loan):
    scheduled_payments.set_autopay(
        db.session, loan, True, payer_id=loan.borrower_id, now=servicing_start()
    )
    day, end = ISSUED + timedelta(days=1), ISSUED + timedelta(days=366)
    while day <= end:
        _cycle(day)
        day += timedelta(days=1)
    db.session.expire_all()
    installments = db.session.scalars(
        select(Installment).where(Installment.loan_id == loan.id, Installment.due_date <= end)
        .order_by(Installment.number)
    ).all()  # fmt: skip
    payments = sorted(_payments(loan), key=lambda p: p.received_on)
    assert len(payments) == len(installments) == 12
    for installment, payment in zip(installments, payments, strict=True):
        assert installment.status is InstallmentStatus.PAID and installment.fee_due == 0
        assert payment.received_on == payment.due_date == installment.due_date
        assert payment.amount == installment.principal_due + installment.interest_due
        assert payment.payment_type is PaymentType.SCHEDULED
    collected = sum(p.amount for p in payments)
    assert collected == sum(i.principal_due + i.interest_due for i in installments)
    assert loan.servicing_status.value == "current" and loan.days_past_due == 0
    assert_ledger_balances()


def servicing_start():
    from datetime import UTC, datetime

    return datetime(2025, 1, 15, 12, tzinfo=UTC)


def test_autopay_off_calls_off_what_it_asked_for_and_asks_no_more(loan):
    scheduled_payments.set_autopay(
        db.session, loan, True, payer_id=loan.borrower_id, now=servicing_start()
    )
    first_due = loan.installments[0].due_date
    gateway = DecliningGateway(declines=1)
    _cycle(first_due, gateway)  # asked and declined: waiting for its retry
    (waiting,) = db.session.scalars(select(ScheduledPayment)).all()
    assert waiting.autopay and waiting.status is ScheduledPaymentStatus.SCHEDULED
    scheduled_payments.set_autopay(
        db.session, loan, False, payer_id=loan.borrower_id, now=servicing_start()
    )
    db.session.refresh(waiting)
    assert waiting.status is ScheduledPaymentStatus.CANCELLED
    for offset in range(1, 40):
        _cycle(first_due + timedelta(days=offset), gateway)
    assert db.session.scalar(select(func.count()).select_from(ScheduledPayment)) == 1
    assert _payments(loan) == []


def test_payments_say_whether_they_came_early_on_time_or_late(loan):
    first, second = loan.installments[0], loan.installments[1]
    amount = first.principal_due + first.interest_due
    early = repayments.apply_payment(
        db.session,
        loan.id,
        amount,
        received_on=first.due_date - timedelta(days=3),
        idempotency_key="e",
    )
    on_time = repayments.apply_payment(
        db.session, loan.id, amount, received_on=second.due_date, idempotency_key="o"
    )
    late = repayments.apply_payment(
        db.session,
        loan.id,
        amount,
        received_on=loan.installments[2].due_date + timedelta(days=4),
        idempotency_key="l",
    )
    assert (early.payment_type, early.due_date) == (PaymentType.EARLY, first.due_date)
    assert (on_time.payment_type, on_time.due_date) == (PaymentType.SCHEDULED, second.due_date)
    assert late.payment_type is PaymentType.LATE


def test_a_charge_the_loan_cannot_take_when_it_settles_is_refunded(loan):
    """Two payments for one day, each payable alone, together more than the payoff: both are
    charged, the one settled second finds the loan paid off, and its money goes back."""
    from app.background.jobs import refund_charge
    from app.models import ActivityLog, OutboxMessage

    day = date(2025, 3, 1)
    payoff = repayments.payoff_amount(db.session, loan, day).total
    assert D("4900.00") < payoff < D("5100.00")
    whole = _schedule(loan, "4900.00", pay_on=day, key="whole")
    extra = _schedule(loan, "200.00", pay_on=day, key="extra")
    _cycle(day)
    statuses = sorted([whole.status.value, extra.status.value])
    assert statuses == ["collected", "failed"]
    refused = whole if whole.status is ScheduledPaymentStatus.FAILED else extra
    (order,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "refund_charge")
    ).all()
    assert order.payload["amount"] == f"{refused.amount:.2f}"
    assert order.payload["payer_id"] == loan.borrower_id
    assert sum(p.amount for p in _payments(loan)) == D("5100.00") - refused.amount
    refund_charge(order.payload)
    refund_charge(order.payload)  # a retried job: the provider's key makes it one refund
    logged = db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "payment.refunded")
    ).all()
    assert {row.details["refund"] for row in logged} == {logged[0].details["refund"]}
    notices = db.session.scalars(
        select(Notification).where(Notification.kind == "payment.refunded")
    ).all()
    assert len(notices) == 1 and f"${refused.amount:,.2f}" in notices[0].body
    assert_ledger_balances()
