"""Lender cash: deposits in through the payment provider's clearing account, and withdrawals
asked for (their way to the bank: services/money/payouts.py)."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    CashTransfer,
    PaymentStatus,
    Provider,
    Role,
    TransferDirection,
)
from app.services.accounts import accounts
from app.services.errors import InsufficientFunds, ValidationFailed
from app.services.money import idempotency, ledger, payouts
from app.services.money.money import cents
from app.services.platform import activity, outbox

MAX_TRANSFER = Decimal("1000000.00")


def deposit(
    session: Session,
    user_id: int,
    amount: Decimal,
    *,
    provider: Provider,
    provider_ref: str | None = None,
    idempotency_key: str | None = None,
) -> CashTransfer:
    """Credit a lender's available cash with money received by the provider (once per ref/key)."""
    check_deposit(session, user_id, amount)
    duplicate = _existing(session, user_id, provider, provider_ref, idempotency_key)
    if duplicate is not None:
        return duplicate
    transfer = CashTransfer(
        user_id=user_id,
        direction=TransferDirection.DEPOSIT,
        amount=amount,
        status=PaymentStatus.SUCCEEDED,
        provider=provider,
        provider_ref=provider_ref,
        idempotency_key=idempotency_key,
        completed_at=datetime.now(UTC),
    )
    session.add(transfer)
    session.flush()
    clearing = ledger.account(session, AccountKind.PROCESSOR_CLEARING)
    cash = ledger.account(session, AccountKind.LENDER_CASH, owner_id=user_id)
    entry = ledger.post(
        session,
        "deposit",
        f"Deposit #{transfer.id}",
        [ledger.debit(clearing, amount), ledger.credit(cash, amount)],
        idempotency_key=f"deposit:{transfer.id}",
        user_id=user_id,
    )
    transfer.journal_entry_id = entry.id
    outbox.add(
        session,
        "auto_invest_lender",
        {"lender_id": user_id},
        dedupe_key=f"auto-lender-{transfer.id}",
        user_id=user_id,
    )
    activity.record(session, "cash.deposited", user_id=user_id, entity=transfer, amount=str(amount))
    return transfer


def check_deposit(session: Session, user_id: int, amount: Decimal) -> None:
    """Refuse a deposit this lender cannot make, before money is collected for it."""
    _check_amount(amount)
    accounts.require_active(session, user_id, Role.LENDER, "hold cash")


def withdraw(
    session: Session, user_id: int, amount: Decimal, *, provider: Provider, idempotency_key: str
) -> CashTransfer:
    """Pay available cash out to the lender; never more than they have (also under races)."""
    _check_amount(amount)
    accounts.require_active(session, user_id, Role.LENDER, "hold cash")
    previous = idempotency.claim(
        session, user_id, idempotency_key, "withdraw", {"amount": str(amount)}
    )
    if previous is not None:
        return session.get(CashTransfer, previous.resource_id)
    cash = ledger.account(session, AccountKind.LENDER_CASH, owner_id=user_id)
    available = ledger.balance(session, cash.id)
    if available < amount:
        raise InsufficientFunds(f"You can withdraw at most ${available:,.2f}.", field="amount")
    transfer = CashTransfer(
        user_id=user_id,
        direction=TransferDirection.WITHDRAWAL,
        amount=amount,
        provider=provider,
        idempotency_key=idempotency_key,
    )
    session.add(transfer)
    session.flush()
    payouts.hold(session, transfer)  # requested: the cash waits in payouts owed until sent
    idempotency.complete(session, user_id, idempotency_key, "cash_transfer", transfer.id)
    activity.record(session, "cash.withdrawn", user_id=user_id, entity=transfer, amount=str(amount))
    return transfer


def available_cash(session: Session, user_id: int) -> Decimal:
    """What a lender can invest or withdraw now."""
    return ledger.balance_of(session, AccountKind.LENDER_CASH, owner_id=user_id)


def committed_cash(session: Session, user_id: int) -> Decimal:
    """What a lender has reserved for listings still in funding."""
    return ledger.balance_of(session, AccountKind.LENDER_COMMITTED, owner_id=user_id)


def _check_amount(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or amount != cents(amount) or amount <= 0:
        raise ValidationFailed({"amount": "Enter an amount in dollars and cents above zero."})
    if amount > MAX_TRANSFER:
        raise ValidationFailed({"amount": f"One transfer can be at most ${MAX_TRANSFER:,.2f}."})


def _existing(session, user_id, provider, provider_ref, idempotency_key):
    if provider_ref:
        found = session.scalar(
            select(CashTransfer).where(
                CashTransfer.provider == provider, CashTransfer.provider_ref == provider_ref
            )
        )
        if found is not None:
            return found
    if idempotency_key:
        return session.scalar(
            select(CashTransfer).where(
                CashTransfer.user_id == user_id, CashTransfer.idempotency_key == idempotency_key
            )
        )
    return None
