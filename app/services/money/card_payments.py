"""Paying a started charge by card: the page between "deposit $250" and Stripe's webhook.

A deposit or loan payment through Stripe starts a PaymentIntent and moves no money. The
person then gives a card in the browser (Stripe.js keeps the number away from us) and this
module confirms the intent with it. Money still moves only when Stripe's signed webhook says
the charge succeeded (`payments.record_notice`): a confirmed card is a promise, not cash.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from sqlalchemy.orm import Session

from app.models import User
from app.services.errors import DomainError
from app.services.platform import activity

# What Stripe.js hands the page: a Card object's id (or a PaymentMethod's), nothing else.
CARD = re.compile(r"(card|pm)_[A-Za-z0-9_]{1,100}")
OWNER_FIELD = {"deposit": "user_id", "loan_payment": "payer_id"}
OPEN = "requires_payment_method"  # waiting for a card (again, after a decline)
NEEDS_AUTHENTICATION = "requires_action"  # 3-D Secure: Stripe.js asks the bank
UNDER_WAY = frozenset({"processing", "succeeded", "requires_capture"})


class CardDeclined(DomainError):
    """The provider refused the card; the person may try another."""

    def __init__(self, message: str):
        super().__init__(message, field="card")


@dataclass(frozen=True)
class CardPayment:
    """A started charge as the provider holds it."""

    reference: str
    amount: Decimal
    status: str
    client_secret: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    last_error: str | None = None

    @property
    def kind(self) -> str | None:
        return self.metadata.get("kind")

    @property
    def loan_id(self) -> int | None:
        value = self.metadata.get("loan_id", "")
        return int(value) if value.isascii() and value.isdigit() else None

    def belongs_to(self, user_id: int) -> bool:
        owner = OWNER_FIELD.get(self.kind or "")
        return owner is not None and self.metadata.get(owner) == str(user_id)


@dataclass(frozen=True)
class CardSetup:
    """A card being saved at the provider for charges made without the person."""

    reference: str
    status: str
    client_secret: str | None
    customer: str | None
    payment_method: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    label: str | None = None  # "Visa ending 4242", once saved


class CardGateway(Protocol):
    """A provider whose charges the person confirms with a card in the browser."""

    def card_payment(self, reference: str) -> CardPayment | None: ...

    def pay_with_card(self, reference: str, card: str) -> CardPayment: ...


def payment_of(gateway, reference: str, user_id: int) -> CardPayment | None:
    """The started charge `reference` if it is this person's; None for anyone else's.

    Another person's charge and one that does not exist look the same: nobody learns which
    references are real.
    """
    if not getattr(gateway, "confirms_later", False) or not _reference(reference):
        return None
    payment = gateway.card_payment(reference)
    if payment is None or not payment.belongs_to(user_id):
        return None
    return payment


def pay(gateway: CardGateway, payment: CardPayment, card: str) -> CardPayment:
    """Confirm `payment` with the browser's `card`; the answer says what happens next."""
    if payment.status != OPEN:
        raise DomainError("This payment is not waiting for a card.", field="card")
    if not isinstance(card, str) or not CARD.fullmatch(card):
        raise DomainError("Enter your card details.", field="card")
    return gateway.pay_with_card(payment.reference, card)


def _reference(value: str) -> bool:
    return re.fullmatch(r"pi_[A-Za-z0-9_]{1,100}", value) is not None


def start_saving(session: Session, gateway, user: User) -> str:
    """Begin saving a card for `user`; the reference of the setup their browser completes."""
    customer, reference = gateway.start_card_setup(user.id, user.provider_customer_ref)
    user.provider_customer_ref = customer
    return reference


def setup_of(gateway, reference: str, user_id: int) -> CardSetup | None:
    """The card setup `reference` if it is this person's; None for anyone else's."""
    if not getattr(gateway, "confirms_later", False):
        return None
    if re.fullmatch(r"seti_[A-Za-z0-9_]{1,100}", reference) is None:
        return None
    setup = gateway.card_setup(reference)
    if setup is None or setup.metadata.get("user_id") != str(user_id):
        return None
    return setup


def finish_saving(session: Session, user: User, setup: CardSetup) -> bool:
    """Keep the card the setup saved; False while the provider has not saved it."""
    if setup.status != "succeeded" or not setup.payment_method:
        return False
    user.provider_customer_ref = setup.customer or user.provider_customer_ref
    user.saved_card_ref, user.saved_card_label = setup.payment_method, setup.label
    activity.record(session, "payment.card_saved", user_id=user.id, entity=user,
                    card=setup.label)  # fmt: skip
    return True
