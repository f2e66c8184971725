"""Payments on a date: one a borrower schedules, and autopay, which asks for every installment
on its due date. The daily cycle collects them through the payment provider.

Collection is once only. A scheduled payment is claimed row by row (FOR UPDATE SKIP LOCKED) in
the cycle's transaction; the provider is asked with a key per attempt, so a re-run of the same
attempt is the same charge; the money is applied with the settlement's set-based path under the
payment's own key, which a second application would find. A declined attempt is tried again
`policy.retry_after_days` later, up to `policy.scheduled_payment_attempts` tries; a payment the
loan can no longer take (paid off, more than the payoff) fails at once, before anyone is
charged. The borrower hears of every failure. Through Stripe, the payer's saved card is
charged off-session; Stripe's webhook for that charge then finds the payment already applied
under the same key.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import Loan, Payment, ScheduledPayment, ScheduledPaymentStatus, User
from app.services.errors import DomainError, IdempotencyMismatch, ValidationFailed
from app.services.money import payments
from app.services.money.money import cents
from app.services.money.payments import PaymentDeclined
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import repayments, settlement
from app.services.servicing.settlement import SettlementRow

SCHEDULED = ScheduledPaymentStatus.SCHEDULED


def schedule(
    session: Session,
    loan: Loan,
    amount: Decimal,
    pay_on: date,
    *,
    payer_id: int,
    key: str,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> ScheduledPayment:
    """Ask for `amount` on `pay_on` (after today, within the policy's horizon).

    The same key again returns the first request; the same key for another request is refused.
    """
    earlier = _with_key(session, payer_id, key)
    if earlier is not None:
        if (earlier.loan_id, earlier.amount, earlier.pay_on) != (loan.id, amount, pay_on):
            raise IdempotencyMismatch("This request key was already used for another payment.")
        return earlier
    _check_schedulable(session, loan, amount, pay_on, today, policy)
    planned = ScheduledPayment(
        loan_id=loan.id,
        payer_id=payer_id,
        amount=amount,
        pay_on=pay_on,
        next_attempt_on=pay_on,
        idempotency_key=key,
    )
    session.add(planned)
    session.flush()
    activity.record(session, "payment.scheduled", user_id=payer_id, entity=planned,
                    amount=str(amount), pay_on=pay_on.isoformat())  # fmt: skip
    return planned


def _check_schedulable(
    session: Session, loan: Loan, amount: Decimal, pay_on: date, today: date, policy
) -> None:
    if not isinstance(amount, Decimal) or amount <= 0 or amount != cents(amount):
        raise ValidationFailed({"amount": "Enter a payment in dollars and cents above zero."})
    if pay_on <= today:
        raise ValidationFailed({"pay_on": "Choose a date after today (to pay today, pay now)."})
    if pay_on > today + timedelta(days=policy.schedule_days_ahead):
        raise ValidationFailed(
            {"pay_on": f"Choose a date within {policy.schedule_days_ahead} days."}
        )
    repayments.check_payable(session, loan, amount, today)


def cancel(session: Session, scheduled_id: int, payer_id: int, today: date) -> ScheduledPayment:
    """Call off a payment that has not been collected, before the day it is tried."""
    planned = session.scalar(
        select(ScheduledPayment)
        .where(ScheduledPayment.id == scheduled_id, ScheduledPayment.payer_id == payer_id)
        .with_for_update()
    )
    if planned is None:
        raise DomainError("No such scheduled payment.")
    if planned.status is not SCHEDULED or planned.next_attempt_on <= today:
        raise DomainError("This payment can no longer be cancelled: it is being collected.")
    planned.status = ScheduledPaymentStatus.CANCELLED
    planned.cancelled_at = datetime.now(UTC)
    activity.record(session, "payment.schedule_cancelled", user_id=payer_id, entity=planned)
    return planned


def set_autopay(
    session: Session, loan: Loan, enabled: bool, *, payer_id: int, now: datetime
) -> Loan:
    """Turn autopay on (every installment collected on its due date) or off."""
    if enabled and loan.autopay_since is None:
        repayments.require_repaying(loan)
        loan.autopay_since = now
    elif not enabled and loan.autopay_since is not None:
        loan.autopay_since = None
        session.execute(text(AUTOPAY_OFF), {"loan": loan.id, "today": now.date()})
    else:
        return loan
    activity.record(session, "loan.autopay_" + ("on" if enabled else "off"),
                    user_id=payer_id, entity=loan)  # fmt: skip
    return loan


def scheduled_for(session: Session, loan_id: int, limit: int = 50) -> list[ScheduledPayment]:
    """The loan's scheduled payments, the next first, then the most recent past ones."""
    return session.scalars(
        select(ScheduledPayment)
        .where(ScheduledPayment.loan_id == loan_id)
        .order_by((ScheduledPayment.status == SCHEDULED).desc(), ScheduledPayment.pay_on.desc())
        .limit(limit)
    ).all()


def collect_due(session: Session, gateway, day: date, policy: LendingPolicy) -> dict:
    """Queue autopay for the day's installments, then collect every payment due by `day`."""
    queued = session.execute(text(QUEUE_AUTOPAY), {"day": day}).rowcount
    waiting = session.scalars(
        select(ScheduledPayment)
        .where(ScheduledPayment.status == SCHEDULED, ScheduledPayment.next_attempt_on <= day)
        .order_by(ScheduledPayment.id)
        .with_for_update(skip_locked=True)
    ).all()
    rows, retried, failed = [], 0, 0
    for planned in waiting:
        outcome = _attempt(session, gateway, planned, day, policy)
        if isinstance(outcome, SettlementRow):
            rows.append(outcome)
        elif outcome == "retry":
            retried += 1
        else:
            failed += 1
    result = settlement.settle(session, rows, day, policy) if rows else None
    collected = _record_settled(session, waiting, rows, result, day)
    return {
        "autopay_queued": queued,
        "scheduled_collected": collected,
        "scheduled_retrying": retried,
        "scheduled_failed": failed + (len(rows) - collected),
    }


def _attempt(session: Session, gateway, planned: ScheduledPayment, day: date, policy):
    """One try: a SettlementRow to apply, or "retry" / "failed" (and the borrower is told)."""
    loan = session.get(Loan, planned.loan_id)
    try:
        repayments.check_payable(session, loan, planned.amount, day)
    except DomainError as error:
        return _fail(session, planned, error.message)
    payer = session.get(User, planned.payer_id)
    if gateway.confirms_later and not payer.saved_card_ref:
        return _fail(session, planned, "No card is saved for automatic payments.")
    planned.attempts += 1
    key = f"loan-payment-{planned.payer_id}-{_payment_key(planned)}-try{planned.attempts}"
    try:
        charge = _charge(gateway, planned, payer, key)
    except PaymentDeclined as error:
        if planned.attempts >= policy.scheduled_payment_attempts:
            return _fail(session, planned, error.message)
        planned.next_attempt_on = day + timedelta(days=policy.retry_after_days)
        planned.last_error = error.message[:500]
        _tell(session, planned, "retry")
        return "retry"
    return SettlementRow(
        loan_id=planned.loan_id,
        amount=planned.amount,
        idempotency_key=_payment_key(planned),
        payer_id=planned.payer_id,
        provider=gateway.provider,
        provider_ref=charge.reference,
    )


def _charge(gateway, planned: ScheduledPayment, payer: User, key: str):
    """Take the money now: a card provider charges the payer's saved card."""
    metadata = _metadata(planned)
    if gateway.confirms_later:
        return gateway.charge_saved(
            planned.amount, metadata=metadata, key=key,
            customer=payer.provider_customer_ref, card=payer.saved_card_ref,
        )  # fmt: skip
    return gateway.charge(planned.amount, metadata=metadata, key=key)


def _record_settled(session, waiting, rows, result, day: date) -> int:
    """Link each applied row to its payment; a row the servicer refused fails with why."""
    refused = {row.idempotency_key: reason for row, reason in (result.refused if result else [])}
    by_key = {_payment_key(planned): planned for planned in waiting}
    payment_ids = {
        (payer, key): payment
        for payer, key, payment in session.execute(
            select(Payment.payer_id, Payment.idempotency_key, Payment.id).where(
                Payment.idempotency_key.in_([row.idempotency_key for row in rows])
            )
        )
    }  # one query for the lot; a key is unique per payer
    collected = 0
    for row in rows:
        planned = by_key[row.idempotency_key]
        if row.idempotency_key in refused:  # charged, then refused: the money goes back
            _fail(session, planned, refused[row.idempotency_key])
            if row.provider_ref:
                payments.ask_refund(session, provider=row.provider, reference=row.provider_ref,
                                    amount=row.amount, reason=refused[row.idempotency_key],
                                    payer_id=planned.payer_id)  # fmt: skip
            continue
        planned.payment_id = payment_ids.get((planned.payer_id, row.idempotency_key))
        planned.status = ScheduledPaymentStatus.COLLECTED
        planned.last_error = None
        collected += 1
    return collected


def _fail(session: Session, planned: ScheduledPayment, reason: str) -> str:
    planned.status = ScheduledPaymentStatus.FAILED
    planned.last_error = reason[:500]
    _tell(session, planned, "failed")
    return "failed"


def _tell(session: Session, planned: ScheduledPayment, outcome: str) -> None:
    what = "Your automatic payment" if planned.autopay else "Your scheduled payment"
    amount = f"${planned.amount:,.2f}"
    if outcome == "retry":
        title = f"{what} did not go through"
        body = (f"{what} of {amount} for loan #{planned.loan_id} was declined "
                f"({planned.last_error}). We will try again on "
                f"{planned.next_attempt_on:%B} {planned.next_attempt_on.day}.")  # fmt: skip
    else:
        title = f"{what} could not be collected"
        body = (f"{what} of {amount} for loan #{planned.loan_id} could not be collected: "
                f"{planned.last_error} Please pay from your loan's page.")  # fmt: skip
    notifications.notify(
        session,
        planned.payer_id,
        f"payment.scheduled_{outcome}",
        title,
        body,
        link=("borrower.loan_show", {"loan_id": planned.loan_id}),
        dedupe_key=f"scheduled-{planned.id}-{outcome}-{planned.attempts}",
        data={
            "loan_id": planned.loan_id,
            "scheduled_payment_id": planned.id,
            "amount": f"{planned.amount:.2f}",
            "attempts": planned.attempts,
            "next_attempt_on": planned.next_attempt_on.isoformat() if outcome == "retry" else None,
            "reason": planned.last_error,
        },
    )


def _with_key(session: Session, payer_id: int, key: str) -> ScheduledPayment | None:
    return session.scalar(
        select(ScheduledPayment).where(
            ScheduledPayment.payer_id == payer_id, ScheduledPayment.idempotency_key == key
        )
    )


def _payment_key(planned: ScheduledPayment) -> str:
    """The payment's own key: one scheduled payment is at most one payment."""
    return f"scheduled:{planned.id}"


def _metadata(planned: ScheduledPayment) -> dict[str, str]:
    return {
        "kind": "loan_payment",
        "loan_id": str(planned.loan_id),
        "payer_id": str(planned.payer_id),
        "idempotency_key": _payment_key(planned),
    }


# Autopay asks for what is left of each installment falling due today on a loan it covers; the
# unique index on installment_id makes a second run ask nothing.
QUEUE_AUTOPAY = """
INSERT INTO scheduled_payments (loan_id, payer_id, amount, pay_on, next_attempt_on, status,
                                installment_id, idempotency_key, attempts, created_at, updated_at)
SELECT l.id, l.borrower_id,
       i.principal_due + i.interest_due + i.fee_due - i.principal_paid - i.interest_paid
           - i.fee_paid,
       :day, :day, 'scheduled', i.id, 'autopay:' || i.id, 0, now(), now()
  FROM loans l JOIN installments i ON i.loan_id = l.id
 WHERE l.autopay_since IS NOT NULL AND l.status = 'issued'
   AND l.servicing_status NOT IN ('paid_off', 'charged_off')
   AND i.due_date = :day AND i.status IN ('scheduled', 'due', 'late')
   AND i.principal_due + i.interest_due + i.fee_due
       > i.principal_paid + i.interest_paid + i.fee_paid
ON CONFLICT (installment_id) WHERE installment_id IS NOT NULL DO NOTHING
"""

# Turning autopay off calls off what it asked for and has not tried yet.
AUTOPAY_OFF = """
UPDATE scheduled_payments SET status = 'cancelled', cancelled_at = now(), updated_at = now()
 WHERE loan_id = :loan AND installment_id IS NOT NULL AND status = 'scheduled'
   AND next_attempt_on > :today
"""
