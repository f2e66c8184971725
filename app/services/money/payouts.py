"""A withdrawal's way to the lender's bank: requested → sent → settled, or failed and returned.

The ledger moves at every step, so the books always say where the money is:

    requested  Dr lender cash           Cr payouts owed        (the cash is held for the payout)
    sent       Dr payouts in transit    Cr processor clearing  (it left the platform's account)
    settled    Dr payouts owed          Cr payouts in transit  (the bank took it: nothing owed)
    failed     Dr payouts owed          Cr lender cash         (theirs again)
               and, if it had been sent,
               Dr processor clearing    Cr payouts in transit  (the bank sent it back)

An admin records each step from the payout queue (payouts are manual today: the bank transfer is
made outside the platform and its reference entered here). A step is taken under a row lock and
only from the state before it, so two admins clicking at once move the money once.
"""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    CashTransfer,
    PaymentStatus,
    PayoutState,
    TransferDirection,
    User,
)
from app.services.errors import DomainError
from app.services.money import ledger
from app.services.platform import activity, notifications

OPEN = (PayoutState.REQUESTED, PayoutState.SENT)


class PayoutStepRefused(DomainError):
    """The withdrawal is not in the state this step starts from (or does not exist)."""


def hold(session: Session, transfer: CashTransfer) -> None:
    """The requested step: post the cash into payouts owed (cash.withdraw calls this)."""
    transfer.payout_state = PayoutState.REQUESTED
    transfer.status = PaymentStatus.PENDING
    entry = ledger.post(
        session,
        "withdrawal",
        f"Withdrawal #{transfer.id}",
        [
            ledger.debit(_cash(session, transfer), transfer.amount),
            ledger.credit(_account(session, AccountKind.PAYOUTS_OWED), transfer.amount),
        ],
        idempotency_key=f"withdrawal:{transfer.id}",
        user_id=transfer.user_id,
    )
    transfer.journal_entry_id = entry.id


def mark_sent(session: Session, transfer_id: int, *, reference: str, admin_id: int) -> CashTransfer:
    """The bank transfer was made; `reference` is the bank's id for it."""
    transfer = _locked(session, transfer_id, (PayoutState.REQUESTED,), "marked sent")
    transfer.payout_state = PayoutState.SENT
    transfer.payout_reference = reference
    transfer.sent_at = datetime.now(UTC)
    _post(session, transfer, "sent", [
        ledger.debit(_account(session, AccountKind.PAYOUTS_IN_TRANSIT), transfer.amount),
        ledger.credit(_account(session, AccountKind.PROCESSOR_CLEARING), transfer.amount),
    ])  # fmt: skip
    _record(session, transfer, "payout.sent", admin_id, reference=reference)
    return transfer


def mark_settled(session: Session, transfer_id: int, *, admin_id: int) -> CashTransfer:
    """The lender's bank confirmed it took the money."""
    transfer = _locked(session, transfer_id, (PayoutState.SENT,), "marked settled")
    transfer.payout_state = PayoutState.SETTLED
    transfer.status = PaymentStatus.SUCCEEDED
    transfer.completed_at = datetime.now(UTC)
    _post(session, transfer, "settled", [
        ledger.debit(_account(session, AccountKind.PAYOUTS_OWED), transfer.amount),
        ledger.credit(_account(session, AccountKind.PAYOUTS_IN_TRANSIT), transfer.amount),
    ])  # fmt: skip
    _record(session, transfer, "payout.settled", admin_id)
    notifications.notify(
        session, transfer.user_id, "cash.withdrawal_settled", "Your withdrawal arrived",
        f"${transfer.amount:,.2f} reached your bank account.",
        link=("lender.dashboard", {}), dedupe_key=f"withdrawal:{transfer.id}:settled",
        data={"transferId": transfer.id, "amount": f"{transfer.amount:.2f}"},
    )  # fmt: skip
    return transfer


def mark_failed(session: Session, transfer_id: int, *, reason: str, admin_id: int) -> CashTransfer:
    """Refused before sending, or returned by the bank: the cash goes back to the lender."""
    transfer = _locked(session, transfer_id, OPEN, "marked failed")
    was_sent = transfer.payout_state is PayoutState.SENT
    legs = [
        ledger.debit(_account(session, AccountKind.PAYOUTS_OWED), transfer.amount),
        ledger.credit(_cash(session, transfer), transfer.amount),
    ]
    if was_sent:
        legs += [
            ledger.debit(_account(session, AccountKind.PROCESSOR_CLEARING), transfer.amount),
            ledger.credit(_account(session, AccountKind.PAYOUTS_IN_TRANSIT), transfer.amount),
        ]
    transfer.payout_state = PayoutState.FAILED
    transfer.status = PaymentStatus.FAILED
    transfer.failure_reason = reason
    transfer.completed_at = datetime.now(UTC)
    _post(session, transfer, "failed", legs)
    _record(session, transfer, "payout.failed", admin_id, reason=reason, was_sent=was_sent)
    notifications.notify(
        session, transfer.user_id, "cash.withdrawal_failed", "Your withdrawal came back",
        f"${transfer.amount:,.2f} did not reach your bank ({reason}). It is back in your cash.",
        link=("lender.dashboard", {}), dedupe_key=f"withdrawal:{transfer.id}:failed",
        data={"transferId": transfer.id, "amount": f"{transfer.amount:.2f}", "reason": reason},
    )  # fmt: skip
    return transfer


def queue(session: Session) -> list[tuple[CashTransfer, str]]:
    """Withdrawals still on their way, oldest first, with their lender's email (the admin's
    payout queue)."""
    rows = session.execute(
        select(CashTransfer, User.email)
        .join(User, User.id == CashTransfer.user_id)
        .where(CashTransfer.payout_state.in_(OPEN))
        .order_by(CashTransfer.created_at, CashTransfer.id)
    )
    return [(transfer, email) for transfer, email in rows]


def recent(session: Session, user_id: int, limit: int = 10) -> list[CashTransfer]:
    """A lender's latest withdrawals, newest first, with their states."""
    return list(
        session.scalars(
            select(CashTransfer)
            .where(
                CashTransfer.user_id == user_id,
                CashTransfer.direction == TransferDirection.WITHDRAWAL,
            )
            .order_by(CashTransfer.id.desc())
            .limit(limit)
        )
    )


def on_the_way(session: Session, user_id: int) -> Decimal:
    """What a lender has asked to withdraw that has not yet settled or come back."""
    total = session.scalar(
        select(func.coalesce(func.sum(CashTransfer.amount), 0)).where(
            CashTransfer.user_id == user_id, CashTransfer.payout_state.in_(OPEN)
        )
    )
    return Decimal(total).quantize(Decimal("0.01"))


def _locked(
    session: Session, transfer_id: int, states: tuple[PayoutState, ...], step: str
) -> CashTransfer:
    transfer = session.scalar(
        select(CashTransfer)
        .where(
            CashTransfer.id == transfer_id,
            CashTransfer.direction == TransferDirection.WITHDRAWAL,
        )
        .with_for_update()
    )
    if transfer is None:
        raise PayoutStepRefused(f"There is no withdrawal #{transfer_id}.")
    if transfer.payout_state not in states:
        raise PayoutStepRefused(
            f"Withdrawal #{transfer.id} is {transfer.payout_state.value}; it can't be {step}."
        )
    return transfer


def _post(session: Session, transfer: CashTransfer, step: str, legs) -> None:
    ledger.post(
        session,
        f"withdrawal_{step}",
        f"Withdrawal #{transfer.id} {step}",
        legs,
        idempotency_key=f"withdrawal:{transfer.id}:{step}",
        user_id=transfer.user_id,
    )


def _record(session, transfer: CashTransfer, action: str, admin_id: int, **facts) -> None:
    activity.record(
        session, action, user_id=admin_id, entity=transfer, lender_id=transfer.user_id,
        amount=str(transfer.amount), **facts,
    )  # fmt: skip


def _cash(session: Session, transfer: CashTransfer):
    return ledger.account(session, AccountKind.LENDER_CASH, owner_id=transfer.user_id)


def _account(session: Session, kind: AccountKind):
    return ledger.account(session, kind)
