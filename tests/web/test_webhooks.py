"""Stripe webhooks: signature on the raw body, replay and duplicate handling, one effect each."""

import hashlib
import hmac
import json
import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Payment, ProviderEvent
from app.services.money import ledger
from tests.builders import issued_loan

SECRET = "whsec_test_secret"


@pytest.fixture(autouse=True)
def _stripe_secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)


def _event(loan, event_id="evt_1", cents=32734, kind="payment_intent.succeeded", intent="pi_1"):
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": intent,
                "object": "payment_intent",
                "amount": cents,
                "amount_received": cents,
                "status": "succeeded",
                "metadata": {
                    "kind": "loan_payment",
                    "loan_id": str(loan.id),
                    "payer_id": str(loan.borrower_id),
                    "idempotency_key": f"key-{intent}",
                },
            }
        },
    }


def _post(client, body: bytes, timestamp=None, secret=SECRET):
    timestamp = timestamp or int(time.time())
    signature = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return client.post(
        "/webhooks/stripe",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": f"t={timestamp},v1={signature}"},
    )


@pytest.fixture()
def loan():
    loan, _ = issued_loan(["10000"], issued_on=date.today().replace(day=1))
    return loan


def _payments():
    return db.session.scalar(select(func.count()).select_from(Payment))


def test_a_signed_payment_event_applies_the_payment(client, loan):
    response = _post(client, json.dumps(_event(loan)).encode())
    assert response.status_code == 200 and response.json == {"status": "ok"}
    payment = db.session.scalars(select(Payment)).one()
    assert payment.amount == Decimal("327.34") and payment.provider_ref == "pi_1"
    assert ledger.verify(db.session) == []


def test_a_tampered_body_is_refused(client, loan):
    body = json.dumps(_event(loan)).encode()
    timestamp = int(time.time())
    signature = hmac.new(
        SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    tampered = body.replace(b"32734", b"99999")
    response = client.post(
        "/webhooks/stripe",
        data=tampered,
        content_type="application/json",
        headers={"Stripe-Signature": f"t={timestamp},v1={signature}"},
    )
    assert response.status_code == 400 and _payments() == 0


def test_a_stale_or_wrongly_signed_event_is_refused(client, loan):
    body = json.dumps(_event(loan)).encode()
    assert _post(client, body, timestamp=int(time.time()) - 3600).status_code == 400
    assert _post(client, body, secret="whsec_other").status_code == 400
    assert _payments() == 0


def test_a_duplicate_delivery_has_one_effect(client, loan):
    body = json.dumps(_event(loan)).encode()
    assert _post(client, body).json == {"status": "ok"}
    assert _post(client, body).json == {"status": "duplicate"}
    assert _payments() == 1
    assert db.session.scalar(select(func.count()).select_from(ProviderEvent)) == 1


def test_events_out_of_order_do_not_move_money_twice(client, loan):
    assert _post(client, json.dumps(_event(loan, "evt_2")).encode()).status_code == 200
    late = _event(loan, "evt_1", kind="payment_intent.processing")
    assert _post(client, json.dumps(late).encode()).json == {"status": "ok"}
    again = _event(loan, "evt_3")  # a second event about the same intent
    assert _post(client, json.dumps(again).encode()).status_code == 200
    assert _payments() == 1


def test_a_signed_deposit_event_credits_the_lender_once(client):
    from app.services.money import cash
    from tests.builders import lender

    investor = lender()
    event = {
        "id": "evt_dep",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": "pi_dep",
                "object": "payment_intent",
                "amount": 50000,
                "amount_received": 50000,
                "status": "succeeded",
                "metadata": {"kind": "deposit", "user_id": str(investor.id)},
            }
        },
    }
    body = json.dumps(event).encode()
    assert _post(client, body).json == {"status": "ok"}
    assert _post(client, body).json == {"status": "duplicate"}
    assert cash.available_cash(db.session, investor.id) == Decimal("500.00")
    assert ledger.verify(db.session) == []
