"""Taking money in through a payment gateway: loan payments and lender deposits.

Pages and the API ask this module; it talks to the provider only through `PaymentGateway`,
which `app.integrations` implements (simulated at once, or Stripe confirming by webhook).
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import Loan, Payment, Provider, ProviderEvent
from app.services.errors import DomainError
from app.services.money import cash, idempotency
from app.services.platform import activity, notifications, outbox
from app.services.policy import LendingPolicy
from app.services.servicing import repayments

# What the provider hands back from our own metadata, checked before it reaches a query.
ROW_ID = re.compile(r"[1-9][0-9]{0,8}")  # ASCII digits within PostgreSQL's integer
KEY = re.compile(r"[^\x00]{1,120}")  # as the idempotency_key columns hold it


class PaymentDeclined(DomainError):
    """The provider refused to take the money (a declined card, an account without funds)."""


@dataclass(frozen=True)
class Charge:
    """The provider's answer to a request for money."""

    reference: str
    client_secret: str | None = None  # for the browser to confirm, when the provider needs it


class PaymentGateway(Protocol):
    """A payment provider as this platform uses it."""

    provider: Provider
    confirms_later: bool  # True: money arrives when the provider says so (a notice)

    def charge(self, amount: Decimal, *, metadata: dict[str, str], key: str) -> Charge:
        """Ask for `amount`; the same `key` twice is one charge."""

    def refund(self, reference: str, amount: Decimal, *, key: str) -> str:
        """Give `amount` of the charge `reference` back to the payer; the same `key` twice is
        one refund. Returns the provider's reference for the refund."""


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment | None  # None while the provider has not confirmed
    message: str
    client_secret: str | None = None
    reference: str | None = None  # the provider's charge, waiting for a card in the browser


@dataclass(frozen=True)
class Notice:
    """A provider event, verified and read into plain values by the integration."""

    id: str
    type: str
    created: datetime
    payload: dict
    succeeded: bool = False  # money arrived (the only kind that moves money here)
    amount: Decimal | None = None
    reference: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def pay_loan(
    session: Session,
    gateway: PaymentGateway,
    loan: Loan,
    amount: Decimal,
    *,
    payer_id: int,
    key: str,
    today: date,
    policy: LendingPolicy,
) -> PaymentResult:
    """Collect a payment towards `loan`: applied now, or when the provider confirms it.

    `key` is the payer's: the same key twice pays once (a concurrent twin waits, then replays);
    another person's identical key is theirs alone; the same key for another request is refused.
    """
    scoped = f"loan-payment-{payer_id}-{key}"  # the provider sees one key per person
    if gateway.confirms_later:
        repayments.check_payable(session, loan, amount, today)
        charge = gateway.charge(
            amount,
            metadata={
                "kind": "loan_payment",
                "loan_id": str(loan.id),
                "payer_id": str(payer_id),
                "idempotency_key": key,
            },
            key=scoped,
        )
        return PaymentResult(
            None,
            "Payment started; it applies to your loan when your bank confirms it.",
            charge.client_secret,
            charge.reference,
        )
    request = {"loan_id": loan.id, "amount": str(amount)}
    replay = idempotency.claim(session, payer_id, key, "loan_payment", request)
    if replay is None:
        charge = gateway.charge(amount, metadata={"kind": "loan_payment"}, key=scoped)
        payment = repayments.apply_payment(
            session,
            loan.id,
            amount,
            received_on=today,
            idempotency_key=key,
            payer_id=payer_id,
            provider=gateway.provider,
            provider_ref=charge.reference,
            policy=policy,
        )
        idempotency.complete(session, payer_id, key, "payment", payment.id)
    else:
        payment = session.get(Payment, replay.resource_id)
    return PaymentResult(payment, f"Payment of ${amount:,.2f} received. Thank you.")


def deposit(
    session: Session, gateway: PaymentGateway, user_id: int, amount: Decimal, *, key: str
) -> PaymentResult:
    """Add to a lender's cash: at once, or when the provider confirms.

    Keys behave as for `pay_loan`: one deposit per person and key, whoever else uses it. A
    provider that confirms later answers with the charge's reference, for the card page; a
    repeated key answers without one (the first request's page took the card).
    """
    scoped = f"deposit-{user_id}-{key}"
    if gateway.confirms_later:
        cash.check_deposit(session, user_id, amount)
        # The key is ours to keep too: a repeat starts no second charge, whatever the provider
        # does with its own idempotency key (Stripe keeps them for 24 hours).
        charge = None
        if idempotency.claim(session, user_id, key, "deposit", {"amount": str(amount)}) is None:
            charge = gateway.charge(
                amount,
                metadata={"kind": "deposit", "user_id": str(user_id), "idempotency_key": key},
                key=scoped,
            )
            idempotency.complete(session, user_id, key, "provider_charge", None, 202)
        return PaymentResult(
            None,
            f"Deposit of ${amount:,.2f} started; it is added when your bank confirms it.",
            charge and charge.client_secret,
            charge and charge.reference,
        )
    replay = idempotency.claim(session, user_id, key, "deposit", {"amount": str(amount)})
    if replay is None:
        charge = gateway.charge(amount, metadata={"kind": "deposit"}, key=scoped)
        transfer = cash.deposit(
            session,
            user_id,
            amount,
            provider=gateway.provider,
            provider_ref=charge.reference,
            idempotency_key=key,
        )
        idempotency.complete(session, user_id, key, "cash_transfer", transfer.id)
    return PaymentResult(None, f"${amount:,.2f} added to your available cash.")


def record_notice(session: Session, notice: Notice, provider: Provider, policy) -> bool:
    """Store a provider event once and apply the money it confirms; False for a duplicate.

    A DomainError from applying it (a rule refused it, or its metadata is unusable) is written
    on the event as its `failure` and propagates, so the caller can log it and still commit the
    row: the provider hears 2xx once, and an operator follows up (the money is at the provider).
    """
    stored = session.execute(
        insert(ProviderEvent)
        .values(
            id=notice.id,
            provider=provider,
            type=notice.type,
            payload=_storable(notice.payload),
            received_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(ProviderEvent.id)
    ).scalar_one_or_none()
    if stored is None:
        return False
    event = session.get(ProviderEvent, notice.id)
    try:
        with session.begin_nested():  # a refused event leaves no half-applied money behind
            _apply(session, notice, provider, policy)
    except DomainError as error:
        event.failure = error.message
        if notice.succeeded and notice.reference and notice.amount and notice.amount > 0:
            ask_refund(session, provider=provider, reference=notice.reference,
                       amount=notice.amount, reason=error.message,
                       payer_id=_payer_of(notice))  # fmt: skip
        raise
    finally:
        event.processed_at = datetime.now(UTC)
    return True


def ask_refund(
    session: Session,
    *,
    provider: Provider,
    reference: str,
    amount: Decimal,
    reason: str,
    payer_id: int | None,
) -> None:
    """Money was taken that cannot be applied (the loan was paid off meanwhile, say): give it
    back. A job does it after this commits, once per charge, retried while the provider is
    down (refund() below)."""
    outbox.add(
        session,
        "refund_charge",
        {"provider": provider.value, "reference": reference, "amount": f"{amount:.2f}",
         "reason": reason[:500], "payer_id": payer_id},
        dedupe_key=f"refund:{provider.value}:{reference}",
    )  # fmt: skip


def refund(session: Session, gateway: PaymentGateway, order: dict) -> str:
    """The refund_charge job: refund through the gateway that took the money, then record it
    and tell the payer. The provider's idempotency key makes a retried job one refund."""
    if gateway.provider.value != order["provider"]:
        raise DomainError(
            f"A {order['provider']} charge cannot be refunded through {gateway.provider.value}."
        )
    amount = Decimal(order["amount"])
    refunded = gateway.refund(order["reference"], amount, key=f"refund:{order['reference']}")
    activity.record(session, "payment.refunded", user_id=order.get("payer_id"),
                    reference=order["reference"], refund=refunded, amount=order["amount"],
                    reason=order["reason"])  # fmt: skip
    if order.get("payer_id"):
        notifications.notify(
            session, order["payer_id"], "payment.refunded", "Your payment was refunded",
            f"We could not use your payment of ${amount:,.2f} ({order['reason']}), so we have "
            "given it back to your card. It can take 5–10 days to appear.",
            dedupe_key=f"refund:{order['reference']}",
            data={"amount": order["amount"], "reason": order["reason"]},
        )  # fmt: skip
    return refunded


def _payer_of(notice: Notice) -> int | None:
    for name in ("payer_id", "user_id"):
        value = notice.metadata.get(name)
        if isinstance(value, str) and ROW_ID.fullmatch(value):
            return int(value)
    return None


def _apply(session: Session, notice: Notice, provider: Provider, policy) -> None:
    if not notice.succeeded:
        return  # states before success carry no money; later ones are handled by reconciliation
    if notice.reference is None or notice.amount is None or notice.amount <= 0:
        raise DomainError("The event names no payment, or no amount in whole cents above zero.")
    kind = notice.metadata.get("kind")
    if kind == "loan_payment":
        loan = session.get(Loan, _metadata_id(notice, "loan_id"))
        payer_id = _metadata_id(notice, "payer_id")
        if loan is None or loan.borrower_id != payer_id:
            raise DomainError("Metadata loan_id and payer_id name no loan of that borrower.")
        repayments.apply_payment(
            session,
            loan.id,
            notice.amount,
            received_on=notice.created.date(),
            idempotency_key=_metadata_key(notice) or f"stripe:{notice.reference}",
            payer_id=payer_id,
            provider=provider,
            provider_ref=notice.reference,
            policy=policy,
        )
    elif kind == "deposit":
        cash.deposit(
            session,
            _metadata_id(notice, "user_id"),
            notice.amount,
            provider=provider,
            provider_ref=notice.reference,
        )
    else:
        raise DomainError(f"Metadata kind {_shown(kind)} is neither loan_payment nor deposit.")


def _metadata_id(notice: Notice, name: str) -> int:
    """A row id from the event's metadata (int() would also read "٣", and overflow a query)."""
    value = notice.metadata.get(name)
    if not isinstance(value, str) or not ROW_ID.fullmatch(value):
        raise DomainError(f"Metadata {name} {_shown(value)} is not an id.")
    return int(value)


def _metadata_key(notice: Notice) -> str | None:
    value = notice.metadata.get("idempotency_key")
    if value is not None and not (isinstance(value, str) and KEY.fullmatch(value)):
        raise DomainError(f"Metadata idempotency_key {_shown(value)} is not a request key.")
    return value


def _shown(value: object) -> str:
    """A value for a failure message: quoted, escaped (no NUL reaches the column), short."""
    return "(missing)" if value is None else repr(value)[:60]


def _storable(value):
    """The payload as JSONB can hold it (PostgreSQL refuses NUL in text, even inside JSON)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value
