"""Borrower payments onto a loan: late fees → interest → principal, oldest installment first.

`distribution` then passes each payment through to the loan's notes and the ledger.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Installment,
    InstallmentStatus,
    Loan,
    LoanStatus,
    Payment,
    PaymentStatus,
    Provider,
    ServicingStatus,
)
from app.services.errors import DomainError, IdempotencyMismatch, ValidationFailed
from app.services.money import ledger
from app.services.money.money import ZERO, cents
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import amortization, distribution, servicing
from app.services.servicing.distribution import Applied


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
        if loan.servicing_status is ServicingStatus.CHARGED_OFF:
            applied = _apply_recovery(session, loan, amount)
        else:
            applied = _apply_to_schedule(session, loan, amount, received_on)
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
        )
        session.add(payment)
        session.flush()
        distribution.distribute(session, loan, payment, applied, received_on, policy)
        _settle_loan(session, loan, applied, received_on, policy)
        _announce(session, loan, payment, applied)
        return payment


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
    if loan.status is not LoanStatus.ISSUED or loan.servicing_status in (
        ServicingStatus.PAID_OFF,
        ServicingStatus.CHARGED_OFF,
    ):
        raise DomainError(f"Loan #{loan.id} is not being repaid.", field="amount")
    total = payoff_amount(session, loan, on).total
    if amount > total:
        raise DomainError(
            f"That is more than the ${total:,.2f} that pays the loan off.", field="amount"
        )


def payoff_amount(session: Session, loan: Loan, as_of: date) -> amortization.PayoffQuote:
    """What pays the whole loan off on `as_of`."""
    return _quote(loan, _open_installments(session, loan.id), as_of)


def _quote(
    loan: Loan, open_installments: list[Installment], as_of: date
) -> amortization.PayoffQuote:
    due = [i for i in open_installments if i.due_date <= as_of]
    upcoming = [i for i in open_installments if i.due_date > as_of]
    past_due_dates = [i.due_date for i in loan.installments if i.due_date <= as_of]
    accrual_start = max(past_due_dates) if past_due_dates else loan.issued_at.date()
    # Interest accrues daily only within a scheduled period; a matured loan accrues late fees.
    accrual_end = as_of if upcoming else accrual_start
    return amortization.payoff_quote(
        loan.principal_outstanding,
        loan.interest_rate,
        accrual_start,
        accrual_end,
        unpaid_interest=sum((i.interest_due - i.interest_paid for i in due), ZERO),
        unpaid_fees=sum((i.fee_due - i.fee_paid for i in due), ZERO),
    )


def _apply_to_schedule(session: Session, loan: Loan, amount: Decimal, received_on: date) -> Applied:
    open_installments = _open_installments(session, loan.id)
    quote = _quote(loan, open_installments, received_on)
    if amount > quote.total:
        raise DomainError(
            f"That is more than the ${quote.total:,.2f} that pays the loan off.", field="amount"
        )
    due = [i for i in open_installments if i.due_date <= received_on]
    upcoming = [i for i in open_installments if i.due_date > received_on]
    applied = Applied(touched=open_installments)
    left = amount
    for part in ("fee", "interest", "principal"):
        for installment in due:
            left = _pay_part(installment, part, left, applied)
    if left == 0:
        return applied
    if amount == quote.total:
        _pay_off(upcoming, left, applied)
        return applied
    for part in ("interest", "principal"):
        left = _pay_part(upcoming[0], part, left, applied)
    if left > 0:  # beyond the next installment: prepay principal, same payment, fewer months
        applied.principal += left
        applied.prepaid = left
    return applied


def _pay_part(installment: Installment, part: str, left: Decimal, applied: Applied) -> Decimal:
    owed = getattr(installment, f"{part}_due") - getattr(installment, f"{part}_paid")
    paying = min(owed, left)
    if paying > 0:
        setattr(installment, f"{part}_paid", getattr(installment, f"{part}_paid") + paying)
        name = "late_fee" if part == "fee" else part
        setattr(applied, name, getattr(applied, name) + paying)
    return left - paying


def _pay_off(upcoming: list[Installment], left: Decimal, applied: Applied) -> None:
    """What is left settles the loan: all remaining principal plus interest accrued to today."""
    principal_left = sum((i.principal_due - i.principal_paid for i in upcoming), ZERO)
    accrued = left - principal_left
    first = upcoming[0]
    first.interest_due = first.interest_paid + accrued
    first.interest_paid = first.interest_due
    first.principal_due = first.principal_paid + principal_left
    first.principal_paid = first.principal_due
    for later in upcoming[1:]:
        later.principal_due = later.interest_due = ZERO
        later.status = InstallmentStatus.CANCELLED
    applied.interest += accrued
    applied.principal += principal_left
    applied.paid_off = True


def _apply_recovery(session: Session, loan: Loan, amount: Decimal) -> Applied:
    owed = ledger.balance_of(session, AccountKind.LOAN_RECEIVABLE, loan_id=loan.id)
    if amount > owed:
        raise DomainError(
            f"Only ${owed:,.2f} of this charged-off loan is still owed.", field="amount"
        )
    return Applied(recovery=amount)


def _open_installments(session: Session, loan_id: int) -> list[Installment]:
    return list(
        session.scalars(
            select(Installment)
            .where(Installment.loan_id == loan_id, Installment.status.in_(servicing.OPEN))
            .order_by(Installment.number)
        )
    )


def _settle_loan(
    session: Session, loan: Loan, applied: Applied, received_on: date, policy: LendingPolicy
) -> None:
    if applied.recovery:
        return
    loan.principal_outstanding -= applied.principal
    for installment in applied.touched:
        if (
            installment.status is not InstallmentStatus.CANCELLED
            and installment.total_paid == installment.total_due
        ):
            installment.status = InstallmentStatus.PAID
            installment.paid_on = received_on
    if applied.prepaid:
        _reamortize(loan, applied.touched, received_on)
    if applied.paid_off or loan.principal_outstanding == 0:
        servicing.close_paid_off(session, loan, received_on)
        return
    servicing.refresh_delinquency(session, loan, received_on, policy)


def _reamortize(loan: Loan, installments: list[Installment], received_on: date) -> None:
    """Same payment, fewer installments: rebuild the not-yet-due ones from the new balance."""
    future = [
        i
        for i in installments
        if i.status is InstallmentStatus.SCHEDULED
        and i.due_date > received_on
        and i.total_paid == 0
    ]
    if not future:
        return
    balance = loan.principal_outstanding - sum(
        (
            i.principal_due - i.principal_paid
            for i in installments
            if i not in future and i.status is not InstallmentStatus.CANCELLED
        ),
        ZERO,
    )
    plans = (
        amortization.amortize(
            balance,
            loan.interest_rate,
            loan.monthly_payment,
            future[0].due_date,
            first_number=future[0].number,
        )
        if balance
        else []
    )
    assert len(plans) <= len(future), "a prepayment cannot lengthen the schedule"
    for installment, plan in zip(future, plans, strict=False):
        installment.principal_due, installment.interest_due = plan.principal, plan.interest
    for installment in future[len(plans) :]:
        installment.principal_due = installment.interest_due = ZERO
        installment.status = InstallmentStatus.CANCELLED
