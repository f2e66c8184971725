"""localstripe, a stateful fake Stripe run as a real HTTP peer, and a live server of the app
that takes its money through it.

localstripe keeps PaymentIntents, charges test cards, serves its own Stripe.js (so Chromium
draws its card field and tokenises cards against it) and delivers signed webhooks to the live
server, which writes to the test database as production would.
"""

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
import stripe
from sqlalchemy import create_engine, text

from config import TestConfig
from tests.helpers import live_server_environment
from tests.mailbox import free_port

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET = "whsec_localstripe_test"  # noqa: S105 - a test value
STRIPE_KEY = "sk_test_localstripe"
PUBLISHABLE_KEY = "pk_test_localstripe"


@dataclass
class StripePeer:
    client: stripe.StripeClient  # our side's view of localstripe
    api: str  # localstripe's base URL
    live: str  # the live server's base URL


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


def serve(command: list[str], url: str, environment: dict | None = None):
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    _wait_for(url, process, log)
    return process, log


def stop(process: subprocess.Popen, log) -> None:
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture()
def localstripe():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process, log = serve(
        [sys.executable, "-m", "localstripe", "--port", str(port)], f"{url}/v1/customers"
    )
    # It keeps its objects in /tmp/localstripe.pickle across runs: start empty.
    urlopen(Request(f"{url}/_config/data", method="DELETE"), timeout=10).read()  # noqa: S310
    yield url
    stop(process, log)


def stripe_settings(localstripe: str) -> dict[str, str]:
    return {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe,
        "STRIPE_JS_URL": f"{localstripe}/js.stripe.com/v3/",
    }


@pytest.fixture()
def stripe_app(app, monkeypatch, localstripe):
    """The app under test and a live server of it (security headers on), both on localstripe."""
    settings = stripe_settings(localstripe)
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    port = free_port()
    live = f"http://127.0.0.1:{port}"
    environment = live_server_environment(
        port, SECURITY_HEADERS_ENABLED="true", LOGIN_RATE_LIMIT="1000 per minute", **settings
    )
    server, log = serve([sys.executable, "-m", "app.devserver"], f"{live}/healthz", environment)
    # Where localstripe delivers its signed events: the live server's webhook.
    urlopen(  # noqa: S310 - loopback
        Request(
            f"{localstripe}/_config/webhooks/app",
            data=f"url={live}/webhooks/stripe&secret={WEBHOOK_SECRET}".encode(),
            method="POST",
        ),
        timeout=10,
    ).read()
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": localstripe})
    yield StripePeer(client, localstripe, live)
    stop(server, log)


def committed_value(query: str, **parameters) -> Decimal:
    """Read through a connection of its own: the live server commits there."""
    engine = create_engine(TestConfig.SQLALCHEMY_DATABASE_URI)
    try:
        with engine.connect() as connection:
            return connection.execute(text(query), parameters).scalar_one()
    finally:
        engine.dispose()


def cash_of(user_id: int) -> Decimal:
    return committed_value(
        "SELECT coalesce(-sum(balance), 0) FROM ledger_accounts "
        "WHERE kind = 'lender_cash' AND owner_id = :user",
        user=user_id,
    )


def wait_until(condition, seconds: float = 30) -> bool:
    """localstripe delivers its webhook about a second after the charge."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.3)
    return condition()
