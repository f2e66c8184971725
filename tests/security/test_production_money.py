"""Hole 3: production takes money only through Stripe, and a Stripe deposit works end to end.

The probe saw a production instance credit a $250,000 "deposit" from the simulated provider,
and with a Stripe key deposits answered 500. Production now refuses to start without Stripe.
With Stripe, a deposit is a PaymentIntent that credits the lender only when Stripe's signed
webhook says it succeeded. Stripe here is localstripe, a stateful fake Stripe run as a real
HTTP peer: it keeps the PaymentIntent, charges a test card and delivers the signed webhook to a
live server of the app, which writes to the database as production would.
"""

import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
import stripe
from sqlalchemy import create_engine, text

from app import create_app
from app.integrations.payments import NoGateway, gateway_for
from app.models import Role
from app.services.money import ledger
from config import ProductionConfig, TestConfig
from tests.factories import UserFactory
from tests.helpers import live_server_environment
from tests.mailbox import free_port

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "whsec_localstripe_test"  # noqa: S105 - a test value
STRIPE_KEY = "sk_test_localstripe"


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


def _wait_for(url: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urlopen(url, timeout=2):  # noqa: S310 - our own loopback servers
                return
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP answer: it is up
                return
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"{url} exited:\n{log.read()[-3000:]}")
            time.sleep(0.3)
    process.kill()
    pytest.fail(f"{url} did not start")


def _serve(command: list[str], url: str, environment: dict | None = None):
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    _wait_for(url, process, log)
    return process, log


@pytest.fixture()
def localstripe():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process, log = _serve(
        [sys.executable, "-m", "localstripe", "--port", str(port)], f"{url}/v1/customers"
    )
    # It keeps its objects in /tmp/localstripe.pickle across runs: start empty.
    urlopen(Request(f"{url}/_config/data", method="DELETE"), timeout=10).read()  # noqa: S310
    yield url
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture()
def stripe_app(app, monkeypatch, localstripe):
    """The app under test and a live server of it, both on localstripe."""
    settings = {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe,
    }
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    port = free_port()
    live = f"http://127.0.0.1:{port}"
    environment = live_server_environment(port, **settings)
    server, log = _serve([sys.executable, "-m", "app.devserver"], f"{live}/healthz", environment)
    # Where localstripe delivers its signed events: the live server's webhook.
    urlopen(  # noqa: S310 - loopback
        Request(
            f"{localstripe}/_config/webhooks/app",
            data=f"url={live}/webhooks/stripe&secret={WEBHOOK_SECRET}".encode(),
            method="POST",
        ),
        timeout=10,
    ).read()
    yield stripe.StripeClient(STRIPE_KEY, base_addresses={"api": localstripe})
    server.terminate()
    server.wait(timeout=20)
    log.close()


def _cash_of(user_id: int) -> Decimal:
    """Read through a connection of its own: the live server commits there."""
    engine = create_engine(TestConfig.SQLALCHEMY_DATABASE_URI)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT coalesce(-sum(balance), 0) FROM ledger_accounts "
                    "WHERE kind = 'lender_cash' AND owner_id = :user"
                ),
                {"user": user_id},
            ).scalar_one()
    finally:
        engine.dispose()


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
    assert _cash_of(lender.id) == 0  # nothing until Stripe confirms

    (intent,) = stripe_app.v1.payment_intents.list().data
    assert intent.amount == 25000 and intent.metadata["user_id"] == str(lender.id)
    # What Stripe.js does in the lender's browser: a card, then confirmation.
    card = stripe_app.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    stripe_app.v1.payment_intents.update(intent.id, params={"payment_method": card.id})
    assert stripe_app.v1.payment_intents.confirm(intent.id).status == "succeeded"

    deadline = time.monotonic() + 30
    while _cash_of(lender.id) == 0 and time.monotonic() < deadline:
        time.sleep(0.3)  # localstripe delivers its webhook a second later
    assert _cash_of(lender.id) == Decimal("250.00")
    committed.expire_all()
    assert ledger.verify(committed) == []
    again = client.post("/lender/deposits", data={"amount": "250.00", "idempotency_key": key})
    assert again.status_code == 303
    assert len(stripe_app.v1.payment_intents.list().data) == 1  # the same key: one intent
