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


@pytest.fixture(scope="module")
def _localstripe_server():
    """One localstripe per test module: it takes seconds to start, and each test empties it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process, log = serve(
        # From scratch: not the objects another run (or another xdist worker) left in its file.
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        f"{url}/v1/customers",
    )
    yield url
    stop(process, log)


@pytest.fixture()
def localstripe(_localstripe_server):
    """localstripe, empty: the module's server keeps its objects from test to test, so each
    test starts by deleting them."""
    url = _localstripe_server
    urlopen(Request(f"{url}/_config/data", method="DELETE"), timeout=10).read()  # noqa: S310
    return url


def stripe_settings(localstripe: str) -> dict[str, str]:
    return {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe,
        "STRIPE_JS_URL": f"{localstripe}/js.stripe.com/v3/",
    }


@pytest.fixture(scope="module")
def _stripe_live_server(app, _localstripe_server):
    """A live server of the app on localstripe (security headers on), one per test module."""
    port = free_port()
    live = f"http://127.0.0.1:{port}"
    environment = live_server_environment(
        port,
        SECURITY_HEADERS_ENABLED="true",
        LOGIN_RATE_LIMIT="1000 per minute",
        **stripe_settings(_localstripe_server),
    )
    server, log = serve([sys.executable, "-m", "app.devserver"], f"{live}/healthz", environment)
    yield live
    stop(server, log)


@pytest.fixture()
def stripe_app(app, monkeypatch, localstripe, _stripe_live_server):
    """The app under test and a live server of it, both on an emptied localstripe."""
    for name, value in stripe_settings(localstripe).items():
        monkeypatch.setitem(app.config, name, value)
    live = _stripe_live_server
    _deliver_webhooks_to(localstripe, f"{live}/webhooks/stripe")
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": localstripe})
    yield StripePeer(client, localstripe, live)
    # localstripe sends each event a second after it happens, to the webhooks registered then:
    # this test's last events must not reach the live server during the next test.
    _deliver_webhooks_to(localstripe, NOWHERE)
    time.sleep(WEBHOOK_DELAY)


NOWHERE = "http://127.0.0.1:9/"  # the discard port: nothing listens, the delivery fails
WEBHOOK_DELAY = 1.3  # seconds: localstripe's one-second wait, and a margin


def _deliver_webhooks_to(localstripe: str, url: str) -> None:
    """Where localstripe delivers its signed events (one webhook, replaced each time)."""
    urlopen(  # noqa: S310 - loopback
        Request(
            f"{localstripe}/_config/webhooks/app",
            data=f"url={url}&secret={WEBHOOK_SECRET}".encode(),
            method="POST",
        ),
        timeout=10,
    ).read()


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
