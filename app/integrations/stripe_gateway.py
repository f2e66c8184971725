"""Stripe: a PaymentIntent per charge, and its signed webhook events read into `Notice`s."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import stripe

from app.models import Provider
from app.services.money.card_payments import CardDeclined, CardPayment, CardSetup
from app.services.money.money import from_cents, to_cents
from app.services.money.payments import Charge, Notice, PaymentDeclined

BadSignature = stripe.SignatureVerificationError
TOKEN = re.compile(r"[!-~]{1,120}")  # printable ASCII, no spaces


class StripeGateway:
    """A PaymentIntent per request (the key makes retries safe); the webhook applies it."""

    provider = Provider.STRIPE
    confirms_later = True

    def __init__(self, secret_key: str, api_base: str | None = None):
        addresses = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(secret_key, base_addresses=addresses or {})

    def charge(self, amount: Decimal, *, metadata: dict[str, str], key: str) -> Charge:
        intent = self.client.v1.payment_intents.create(
            params={
                "amount": to_cents(amount),
                "currency": "usd",  # payment methods: the account's defaults (automatic)
                "metadata": metadata,
            },
            options={"idempotency_key": key},
        )
        return Charge(reference=intent.id, client_secret=intent.client_secret)

    def refund(self, reference: str, amount: Decimal, *, key: str) -> str:
        """Give `amount` of the PaymentIntent `reference` back to the card; once per key."""
        refund = self.client.v1.refunds.create(
            params={"payment_intent": reference, "amount": to_cents(amount)},
            options={"idempotency_key": key},
        )
        return refund.id

    def card_payment(self, reference: str) -> CardPayment | None:
        """The PaymentIntent `reference` as the card page needs it; None if Stripe has none."""
        try:
            intent = self.client.v1.payment_intents.retrieve(reference)
        except stripe.InvalidRequestError:  # no such intent (a 404 from Stripe)
            return None
        return _card_payment(intent)

    def pay_with_card(self, reference: str, card: str) -> CardPayment:
        """Confirm the intent with the card Stripe.js tokenised in the browser.

        The card number never reaches us: Stripe.js turned it into a Card object (`card_…`),
        which a PaymentIntent accepts as its payment method. A decline raises CardDeclined;
        a card that needs 3-D Secure comes back `requires_action`, for Stripe.js to finish.
        """
        try:
            self.client.v1.payment_intents.update(reference, params={"payment_method": card})
            intent = self.client.v1.payment_intents.confirm(reference)
        except stripe.CardError as error:
            raise CardDeclined(error.user_message or "Your card was declined.") from error
        except stripe.InvalidRequestError as error:
            raise CardDeclined("That card could not be used; please enter it again.") from error
        except stripe.APIConnectionError as error:  # the page shows the charge's real state
            raise CardDeclined(
                "We could not reach our payment provider; try again in a minute."
            ) from error
        return _card_payment(intent)

    def start_card_setup(self, user_id: int, customer: str | None) -> tuple[str, str]:
        """(the customer, a SetupIntent) for saving a card to charge without the person."""
        if customer is None:
            customer = self.client.v1.customers.create(
                params={"metadata": {"user_id": str(user_id)}}
            ).id
        setup = self.client.v1.setup_intents.create(
            params={
                "customer": customer,
                "usage": "off_session",
                "metadata": {"user_id": str(user_id)},
            }
        )
        return customer, setup.id

    def card_setup(self, reference: str) -> CardSetup | None:
        try:
            setup = self.client.v1.setup_intents.retrieve(reference).to_dict()
        except stripe.InvalidRequestError:
            return None
        label = None
        if setup.get("status") == "succeeded" and setup.get("payment_method"):
            method = self.client.v1.payment_methods.retrieve(setup["payment_method"]).to_dict()
            card = _mapping(method.get("card"))
            label = f"{str(card.get('brand', 'card')).title()} ending {card.get('last4', '????')}"
        return CardSetup(
            reference=setup["id"],
            status=setup["status"],
            client_secret=setup.get("client_secret"),
            customer=setup.get("customer"),
            payment_method=setup.get("payment_method"),
            metadata={str(k): str(v) for k, v in _mapping(setup.get("metadata")).items()},
            label=label,
        )

    def charge_saved(
        self, amount: Decimal, *, metadata: dict[str, str], key: str, customer: str, card: str
    ) -> Charge:
        """Charge a saved card now, without the person (scheduled payments, autopay)."""
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": to_cents(amount),
                    "currency": "usd",
                    "customer": customer,
                    "payment_method": card,
                    "confirm": True,
                    "off_session": True,
                    "metadata": metadata,
                },
                options={"idempotency_key": key},
            )
        except stripe.CardError as error:
            raise PaymentDeclined(error.user_message or "Your card was declined.") from error
        if intent.status not in ("succeeded", "processing"):  # e.g. the bank wants 3-D Secure
            raise PaymentDeclined("Your bank asks you to confirm this payment yourself.")
        return Charge(reference=intent.id)


def _card_payment(intent) -> CardPayment:
    intent = intent.to_dict()
    error = _mapping(intent.get("last_payment_error"))
    return CardPayment(
        reference=intent["id"],
        amount=from_cents(intent["amount"]),
        status=intent["status"],
        client_secret=intent.get("client_secret"),
        metadata={str(k): str(v) for k, v in _mapping(intent.get("metadata")).items()},
        last_error=error.get("message"),
    )


def read_event(body: bytes, signature: str, secret: str) -> Notice:
    """Verify a webhook delivery on its raw body; raises ValueError or BadSignature.

    Past the signature every event with an id becomes a Notice: parts that are missing or of
    the wrong type are left empty, for `payments.record_notice` to refuse and record once.
    """
    event = stripe.Webhook.construct_event(body, signature, secret).to_dict()
    event_id, created = event.get("id"), event.get("created")
    if not (_token(event_id) and _whole(created)):
        raise ValueError("The event has no usable id or time.")
    try:
        when = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise ValueError("The event's time is out of range.") from error
    kind = str(event.get("type")).replace("\x00", "")[:100]
    notice = {"id": event_id, "type": kind, "created": when, "payload": event}
    if kind != "payment_intent.succeeded":
        return Notice(**notice)
    intent = _mapping(_mapping(event.get("data")).get("object"))
    cents = intent.get("amount_received") or intent.get("amount")
    reference = intent.get("id")
    return Notice(
        **notice,
        succeeded=True,
        amount=from_cents(cents) if _whole(cents) else None,
        reference=reference if _token(reference) else None,
        metadata=_mapping(intent.get("metadata")),
    )


def _token(value) -> bool:
    """An id as Stripe writes them, and as our 120-character columns hold them."""
    return isinstance(value, str) and TOKEN.fullmatch(value) is not None


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
