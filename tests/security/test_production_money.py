"""Hole 3: production takes money only through Stripe, and a Stripe deposit works end to end.

The probe saw a production instance credit a $250,000 "deposit" from the simulated provider,
and with a Stripe key deposits answered 500. Production now refuses to start without Stripe.
With Stripe, a deposit is a PaymentIntent that credits the lender only when Stripe's signed
webhook says it succeeded. Stripe here is localstripe, a stateful fake Stripe run as a real
HTTP peer: it keeps the PaymentIntent, charges a test card and delivers the signed webhook to a
live server of the app, which writes to the database as production would.
"""

import uuid
from decimal import Decimal

import pytest

from app import create_app
from app.integrations.payments import NoGateway, gateway_for
from app.models import Role
from app.services.money import ledger
from config import ProductionConfig, TestConfig
from tests.factories import UserFactory
from tests.stripe_peer import STRIPE_KEY, WEBHOOK_SECRET, cash_of, wait_until


def test_production_refuses_to_start_without_stripe(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", TestConfig.SQLALCHEMY_DATABASE_URI)
    for name, value in {
        "SECRET_KEY": "k" * 48,
        "SQLALCHEMY_DATABASE_URI": TestConfig.SQLALCHEMY_DATABASE_URI,
        "STRIPE_SECRET_KEY": None,
        "STRIPE_WEBHOOK_SECRET": None,
    }.items():
        monkeypatch.setattr(ProductionConfig, name, value)
    with pytest.raises(RuntimeError, match="STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"):
        create_app(ProductionConfig)
    monkeypatch.setattr(ProductionConfig, "STRIPE_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setattr(ProductionConfig, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setattr(ProductionConfig, "STRIPE_API_BASE", "http://127.0.0.1:8420")
    with pytest.raises(RuntimeError, match="STRIPE_API_BASE"):
        create_app(ProductionConfig)


def test_the_simulated_gateway_does_not_exist_in_production():
    with pytest.raises(NoGateway):
        gateway_for({"APP_ENV": "production", "STRIPE_SECRET_KEY": None})
    assert gateway_for({"APP_ENV": "development"}).provider.value == "simulated"


def test_production_settles_no_simulated_file(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    settlement = tmp_path / "settle.csv"
    settlement.write_text("loan_id,amount,idempotency_key\n")
    result = app.test_cli_runner().invoke(
        args=["jobs", "settle", str(settlement), "--date", "2026-12-01", "--provider", "simulated"]
    )
    assert result.exit_code != 0 and "no simulated money" in result.output


# --- a deposit through localstripe ---------------------------------------------------------


@pytest.mark.committing  # the live server must see the lender, and we what it wrote
def test_a_stripe_deposit_is_credited_once_when_stripe_confirms_it(
    committed, client, login, stripe_app
):
    lender = UserFactory(role=Role.LENDER)
    committed.commit()
    login(lender)
    key = uuid.uuid4().hex
    started = client.post("/lender/deposits", data={"amount": "250.00", "idempotency_key": key})
    assert started.status_code == 303
    assert cash_of(lender.id) == 0  # nothing until Stripe confirms
    stripe_client = stripe_app.client
    (intent,) = stripe_client.v1.payment_intents.list().data
    assert intent.amount == 25000 and intent.metadata["user_id"] == str(lender.id)
    assert started.headers["Location"] == f"/card/{intent.id}"  # the card comes next
    assert "Pay $250.00" in client.get(started.headers["Location"]).get_data(as_text=True)
    # What Stripe.js does in the lender's browser (the browser suite does it for real): the
    # card becomes a token at Stripe, and the page posts the token's card id.
    token = _token(stripe_client, "4242424242424242")
    paid = client.post(f"/card/{intent.id}", data={"card": token.card.id})
    assert paid.status_code == 303
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    assert wait_until(lambda: cash_of(lender.id) == Decimal("250.00"))
    committed.expire_all()
    assert ledger.verify(committed) == []
    shown = client.get(f"/card/{intent.id}")  # paid: the page says so and goes back
    assert shown.status_code == 303 and shown.headers["Location"] == "/lender/"
    again = client.post("/lender/deposits", data={"amount": "250.00", "idempotency_key": key})
    assert again.status_code == 303 and again.headers["Location"] == "/lender/"
    assert len(stripe_client.v1.payment_intents.list().data) == 1  # the same key: one intent


def _token(stripe_client, number: str):
    card = {"number": number, "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    return stripe_client.v1.tokens.create(params={"card": card})
