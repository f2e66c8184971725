"""Stripe webhooks: verified on the raw body, applied once per event id."""

import logging

from flask import Blueprint, current_app, jsonify, request

from app.extensions import csrf, db, get_policy
from app.integrations import stripe_gateway
from app.models import Provider
from app.services.errors import DomainError
from app.services.money import payments

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/stripe")
@csrf.exempt  # Stripe signs the request instead
def stripe_event():
    """Apply a payment the provider confirmed; a duplicate or unusable event is answered 2xx."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return jsonify(error="not_configured", message="Stripe webhooks are not configured."), 404
    signature = request.headers.get("Stripe-Signature", "")
    try:
        notice = stripe_gateway.read_event(request.get_data(), signature, secret)
    except (ValueError, stripe_gateway.BadSignature) as error:
        log.warning("stripe webhook refused: %s", error)
        return jsonify(error="bad_signature", message="The signature does not verify."), 400
    try:
        applied = payments.record_notice(db.session, notice, Provider.STRIPE, get_policy())
        status = "ok" if applied else "duplicate"
    except DomainError as error:
        # Recorded with its reason and answered 2xx, so Stripe does not retry what cannot
        # work; the money is at Stripe and an operator follows up.
        log.error("stripe event %s not applied: %s", notice.id, error.message)
        status = "failed"
    db.session.commit()
    return jsonify(status=status), 200
