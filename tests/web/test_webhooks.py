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


def _signed_intent(event_id: str, metadata, **intent) -> bytes:
    obj = {"id": "pi_bad", "object": "payment_intent", "amount": 50000, "status": "succeeded"}
    obj.update(intent, metadata=metadata)
    event = {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def _lender_id() -> str:
    from tests.builders import lender

    return str(lender().id)


MALFORMED = {
    "no user_id": ({"kind": "deposit"}, {}, "user_id (missing) is not an id"),
    "user_id not a number": ({"kind": "deposit", "user_id": "abc"}, {}, "'abc' is not an id"),
    "user_id in other digits": ({"kind": "deposit", "user_id": "\u0663"}, {}, "is not an id"),
    "user_id too big": ({"kind": "deposit", "user_id": "9" * 30}, {}, "is not an id"),
    "user_id with NUL": ({"kind": "deposit", "user_id": "1\x00"}, {}, "is not an id"),
    "user_id not text": ({"kind": "deposit", "user_id": 7}, {}, "7 is not an id"),
    "no kind": ({"user_id": "1"}, {}, "kind (missing) is neither"),
    "metadata not a map": ("deposit", {}, "kind (missing) is neither"),
    "amount not a number": (None, {"amount": "abc"}, "no amount in whole cents"),
    "amount negative": (None, {"amount": -500}, "no amount in whole cents"),
    "amount fractional": (None, {"amount": 12.5}, "no amount in whole cents"),
    "no loan": ({"kind": "loan_payment", "loan_id": "999999", "payer_id": "1"}, {}, "no loan"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_signed_event_with_malformed_metadata_is_recorded_as_failed_once(client, case):
    metadata, intent, reason = MALFORMED[case]
    if metadata is None:  # a well-formed deposit whose amount is wrong
        metadata = {"kind": "deposit", "user_id": _lender_id()}
    body = _signed_intent("evt_bad", metadata, **intent)
    first = _post(client, body)
    assert first.status_code == 200 and first.json == {"status": "failed"}
    event = db.session.get(ProviderEvent, "evt_bad")
    assert event.processed_at is not None and reason in event.failure
    again = _post(client, body)  # Stripe's retry: the same answer, nothing reprocessed
    assert again.status_code == 200 and again.json == {"status": "duplicate"}
    assert db.session.scalar(select(func.count()).select_from(ProviderEvent)) == 1
    assert _payments() == 0
    assert ledger.verify(db.session) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"payer_id": "other"}, "no loan of that borrower"),
        ({"idempotency_key": "k" * 121}, "is not a request key"),
        ({"idempotency_key": "k\x00"}, "is not a request key"),
    ],
)
def test_a_payment_event_with_unusable_metadata_moves_no_money(client, loan, change, reason):
    metadata = {"kind": "loan_payment", "loan_id": str(loan.id), "payer_id": str(loan.borrower_id)}
    metadata.update(change)
    if metadata["payer_id"] == "other":
        metadata["payer_id"] = _lender_id()
    response = _post(client, _signed_intent("evt_other", metadata))
    assert response.json == {"status": "failed"} and _payments() == 0
    assert reason in db.session.get(ProviderEvent, "evt_other").failure


def test_a_nul_byte_in_a_signed_event_is_stored_without_it(client):
    body = _signed_intent("evt_nul", {"kind": "deposit", "user_id": "1\x00", "note": "a\x00b"})
    assert _post(client, body).json == {"status": "failed"}
    stored = db.session.get(ProviderEvent, "evt_nul").payload
    assert stored["data"]["object"]["metadata"]["note"] == "a\ufffdb"


def test_a_signed_event_without_an_id_is_refused(client):
    body = json.dumps({"object": "event", "type": "payment_intent.succeeded"}).encode()
    assert _post(client, body).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ProviderEvent)) == 0
