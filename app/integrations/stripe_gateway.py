"""Stripe: a PaymentIntent per charge, and its signed webhook events read into `Notice`s."""

from datetime import UTC, datetime
from decimal import Decimal

import stripe

from app.models import Provider
from app.services.money.money import from_cents, to_cents
from app.services.money.payments import Charge, Notice

BadSignature = stripe.SignatureVerificationError


class StripeGateway:
    """A PaymentIntent per request (the key makes retries safe); the webhook applies it."""

    provider = Provider.STRIPE
    confirms_later = True

    def __init__(self, secret_key: str):
        self.client = stripe.StripeClient(secret_key)

    def charge(self, amount: Decimal, *, metadata: dict[str, str], key: str) -> Charge:
        intent = self.client.v1.payment_intents.create(
            params={
                "amount": to_cents(amount),
                "currency": "usd",
                "automatic_payment_methods": {"enabled": True},
                "metadata": metadata,
            },
            options={"idempotency_key": key},
        )
        return Charge(reference=intent.id, client_secret=intent.client_secret)


def read_event(body: bytes, signature: str, secret: str) -> Notice:
    """Verify a webhook delivery on its raw body; raises ValueError or BadSignature."""
    event = stripe.Webhook.construct_event(body, signature, secret)
    notice = {
        "id": event.id,
        "type": event.type,
        "created": datetime.fromtimestamp(event.created, UTC),
        "payload": event.to_dict(),
    }
    if event.type != "payment_intent.succeeded":
        return Notice(**notice)
    intent = event.data.object
    return Notice(
        **notice,
        succeeded=True,
        amount=from_cents(intent.amount_received or intent.amount),
        reference=intent.id,
        metadata=intent.metadata.to_dict() if intent.metadata else {},
    )
