"""Borrower payments onto a loan, in the order `allocation` decides.

`distribution` then passes each payment through to the loan's notes and the ledger.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Installment,
    InstallmentStatus,
    Loan,
    LoanStatus,
    Payment,
    PaymentStatus,
    PaymentType,
    Provider,
    ServicingStatus,
)
from app.services.errors import DomainError, IdempotencyMismatch, ValidationFailed
from app.services.money import ledger
from app.services.money.money import cents
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import allocation, amortization, distribution, reduced_rate, servicing
from app.services.servicing.allocation import Applied


def apply_payment(
    session: Session,
    loan_id: int,
    amount: Decimal,
    *,
    received_on: date,
    idempotency_key: str,
    payer_id: int | None = None,
    provider: Provider = Provider.SIMULATED,
    provider_ref: str | None = None,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> Payment:
    """Apply a received payment to a loan and pass it through to the noteholders.

    The same idempotency key twice returns the first payment. After a charge-off the money
    is a recovery, shared by the notes that were charged off.
    """
    if not isinstance(amount, Decimal) or amount <= 0 or amount != cents(amount):
        raise ValidationFailed({"amount": "Enter a payment in dollars and cents above zero."})
    with session.begin_nested():
        loan = session.get(Loan, loan_id, with_for_update=True, populate_existing=True)
        if loan is None:
            raise DomainError(f"No loan #{loan_id}.")
        earlier = _earlier(session, loan_id, amount, payer_id, idempotency_key)
        if earlier is not None:
            return earlier
        if (
            loan.status is not LoanStatus.ISSUED
            or loan.servicing_status is ServicingStatus.PAID_OFF
        ):
            raise DomainError(f"Loan #{loan_id} is not being repaid.", field="amount")
        first_due = None
        if loan.servicing_status is ServicingStatus.CHARGED_OFF:
            applied = _apply_recovery(session, loan, amount)
        else:
            first_due = first_open_due_date(session, loan.id)
            applied = _apply_to_schedule(session, loan, amount, received_on, policy)
        payment = Payment(
            loan_id=loan.id,
            payer_id=payer_id,
            amount=amount,
            received_on=received_on,
            status=PaymentStatus.SUCCEEDED,
            provider=provider,
            provider_ref=provider_ref,
            idempotency_key=idempotency_key,
            principal_applied=applied.principal + applied.recovery,
            interest_applied=applied.interest,
            fees_applied=applied.late_fee,
            due_date=first_due,
            payment_type=payment_type(received_on, first_due),
        )
        session.add(payment)
        session.flush()
        distribution.distribute(session, loan, payment, applied, received_on, policy)
        _settle_loan(session, loan, applied, received_on, policy)
        if loan.modified and applied.prepaid:  # a hardship rate reduction keeps its rate
            reduced_rate.after_prepayment(session, loan, received_on, policy)
        _announce(session, loan, payment, applied)
        return payment


def payment_type(received_on: date, due_date: date | None) -> PaymentType | None:
    """Early, on schedule or late, against the due date of the installment paid first."""
    if due_date is None:
        return None
    if received_on < due_date:
        return PaymentType.EARLY
    return PaymentType.SCHEDULED if received_on == due_date else PaymentType.LATE


def first_open_due_date(session: Session, loan_id: int) -> date | None:
    """The due date of the oldest installment not yet paid in full."""
    return session.scalar(
        select(func.min(Installment.due_date)).where(
            Installment.loan_id == loan_id, Installment.status.in_(allocation.OPEN)
        )
    )


def record_manual_payment(
    session: Session,
    loan_id: int,
    amount: Decimal,
    *,
    received_on: date,
    key: str,
    admin_id: int,
    reason: str,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> Payment:
    """A payment an admin received by hand (a cheque), with its reason.

    The same key again returns the first payment and records nothing new, so a
    resubmitted form neither pays twice nor writes a second audit entry.
    """
    if not (reason or "").strip():
        raise ValidationFailed({"reason": "Every servicing action needs a reason."})
    repeated = _earlier(session, loan_id, amount, None, key)
    payment = apply_payment(
        session,
        loan_id,
        amount,
        received_on=received_on,
        provider=Provider.MANUAL,
        idempotency_key=key,
        policy=policy,
    )
    if repeated is None:
        activity.record(
            session,
            "loan.manual_payment",
            user_id=admin_id,
            entity=payment,
            loan_id=loan_id,
            amount=str(amount),
            reason=reason.strip(),
        )
    return payment


def _earlier(
    session: Session, loan_id: int, amount: Decimal, payer_id: int | None, key: str
) -> Payment | None:
    """The payment this key already made; the same key for another payment is refused.

    A payer's key is theirs across loans (as the unique index says); a manual payment's (no
    payer) is the loan's.
    """
    owner = Payment.payer_id == payer_id if payer_id is not None else Payment.loan_id == loan_id
    earlier = session.scalar(select(Payment).where(owner, Payment.idempotency_key == key))
    if earlier is not None and (earlier.loan_id != loan_id or earlier.amount != amount):
        raise IdempotencyMismatch(
            "This request key was already used for a different request.", field="amount"
        )
    return earlier


def _announce(session: Session, loan: Loan, payment: Payment, applied: Applied) -> None:
    """Tell the borrower, and record who paid what."""
    amount = payment.amount
    notifications.notify(
        session,
        loan.borrower_id,
        "payment.received",
        f"Payment of ${amount:,.2f} received",
        f"We applied your ${amount:,.2f} payment to loan #{loan.id}.",
        link=("borrower.loan_show", {"loan_id": loan.id}),
        dedupe_key=f"payment-{payment.id}",
        data={"loan_id": loan.id, "payment_id": payment.id, "amount": f"{amount:.2f}"},
    )
    activity.record(
        session,
        "loan.payment_applied",
        user_id=payment.payer_id,
        entity=payment,
        loan_id=loan.id,
        amount=str(amount),
        principal=str(applied.principal),
        interest=str(applied.interest),
        late_fee=str(applied.late_fee),
        recovery=str(applied.recovery),
    )


def check_payable(session: Session, loan: Loan, amount: Decimal, on: date) -> None:
    """Refuse a payment the loan cannot take, before money is collected for it."""
    require_repaying(loan)
    total = payoff_amount(session, loan, on).total
    if amount > total:
        raise DomainError(
            f"That is more than the ${total:,.2f} that pays the loan off.", field="amount"
        )


def require_repaying(loan: Loan) -> None:
    """Refuse anything but an issued loan that is neither paid off nor charged off."""
    if loan.status is not LoanStatus.ISSUED or loan.servicing_status in (
        ServicingStatus.PAID_OFF,
        ServicingStatus.CHARGED_OFF,
    ):
        raise DomainError(f"Loan #{loan.id} is not being repaid.", field="amount")


def payoff_amount(session: Session, loan: Loan, as_of: date) -> allocation.PayoffQuote:
    """What pays the whole loan off on `as_of`."""
    return allocation.quote(_installments(session, loan.id), loan.interest_rate, as_of)


def _apply_to_schedule(
    session: Session, loan: Loan, amount: Decimal, received_on: date, policy: LendingPolicy
) -> Applied:
    return allocation.allocate(
        _installments(session, loan.id),
        amount,
        received_on,
        annual_rate=loan.interest_rate,
        monthly_payment=loan.monthly_payment,
        interest_rounding=amortization.interest_rounding(policy.payment_rounding),
    )


def _apply_recovery(session: Session, loan: Loan, amount: Decimal) -> Applied:
    owed = ledger.balance_of(session, AccountKind.LOAN_RECEIVABLE, loan_id=loan.id)
    if amount > owed:
        raise DomainError(
            f"Only ${owed:,.2f} of this charged-off loan is still owed.", field="amount"
        )
    return Applied(recovery=amount)


def _installments(session: Session, loan_id: int) -> list[Installment]:
    return list(
        session.scalars(
            select(Installment).where(Installment.loan_id == loan_id).order_by(Installment.number)
        )
    )


def _settle_loan(
    session: Session, loan: Loan, applied: Applied, received_on: date, policy: LendingPolicy
) -> None:
    """An installment whose scheduled amount is paid is paid (an unpaid late fee stays owed,
    but is not delinquency); the loan is paid off when nothing at all is owed."""
    if applied.recovery:
        return
    loan.principal_outstanding -= applied.principal
    for installment in applied.touched:
        if installment.status in allocation.OPEN and installment.scheduled_left == 0:
            installment.status = InstallmentStatus.PAID
            installment.paid_on = received_on
    servicing.settle_standing(session, loan, received_on, policy)
