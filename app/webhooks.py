"""Stripe webhooks: verified on the raw body, applied once per event id."""

import logging
from datetime import UTC, datetime
from decimal import Decimal

import stripe
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.dialects.postgresql import insert

from app.extensions import csrf, db, get_policy
from app.models import Provider, ProviderEvent
from app.services.errors import DomainError
from app.services.money import cash
from app.services.servicing import repayments

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/stripe")
@csrf.exempt  # Stripe signs the request instead
def stripe_event():
    """Apply a payment the provider confirmed; duplicates and unknown kinds are acknowledged."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return jsonify(error="not_configured", message="Stripe webhooks are not configured."), 404
    try:
        event = stripe.Webhook.construct_event(
            request.get_data(), request.headers.get("Stripe-Signature", ""), secret
        )
    except (ValueError, stripe.SignatureVerificationError) as error:
        log.warning("stripe webhook refused: %s", error)
        return jsonify(error="bad_signature", message="The signature does not verify."), 400
    stored = db.session.execute(
        insert(ProviderEvent)
        .values(
            id=event.id,
            provider=Provider.STRIPE,
            type=event.type,
            payload=event.to_dict(),
            received_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(ProviderEvent.id)
    ).scalar_one_or_none()
    if stored is None:
        return jsonify(status="duplicate"), 200
    try:
        _apply(event)
    except DomainError as error:  # recorded; an operator follows up (the money is at Stripe)
        log.error("stripe event %s not applied: %s", event.id, error.message)
    db.session.get(ProviderEvent, event.id).processed_at = datetime.now(UTC)
    db.session.commit()
    return jsonify(status="ok"), 200


def _apply(event) -> None:
    if event.type != "payment_intent.succeeded":
        return  # states before success carry no money; later ones are handled by reconciliation
    intent = event.data.object
    metadata = intent.metadata.to_dict() if intent.metadata else {}
    amount = Decimal(intent.amount_received or intent.amount) / 100
    if metadata.get("kind") == "loan_payment":
        repayments.apply_payment(
            db.session,
            int(metadata["loan_id"]),
            amount,
            received_on=datetime.fromtimestamp(event.created, UTC).date(),
            idempotency_key=metadata.get("idempotency_key") or f"stripe:{intent.id}",
            payer_id=int(metadata["payer_id"]),
            provider=Provider.STRIPE,
            provider_ref=intent.id,
            policy=get_policy(),
        )
    elif metadata.get("kind") == "deposit":
        cash.deposit(
            db.session,
            int(metadata["user_id"]),
            amount,
            provider=Provider.STRIPE,
            provider_ref=intent.id,
        )
