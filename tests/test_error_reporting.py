"""Error reporting with sentry-sdk, to a local HTTP receiver standing in for Sentry's ingest:
an unexpected error reaches it (the person still gets the friendly 500 page), and nothing that
could name or reach a person does: no cookie, token, query, body, email or local variable."""

import gzip
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk

from app import create_app
from config import TestConfig

# Made at run time: Sentry carries the test's source lines around the error, and a literal
# secret there would be found whatever the scrubbing did.
PASSWORD, TOKEN, SESSION = (uuid.uuid4().hex for _ in range(3))
EMAIL = f"{uuid.uuid4().hex[:10]}@example.com"


class Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        Receiver.bodies.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture()
def sentry(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.bodies = []
    monkeypatch.setattr(
        TestConfig, "SENTRY_DSN", f"http://publickey@127.0.0.1:{server.server_port}/1"
    )
    yield Receiver.bodies
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)  # nothing after this test reports anywhere
    server.shutdown()


def test_an_unexpected_error_reaches_sentry_without_personal_data(sentry):
    app = create_app(TestConfig)

    def boom():
        password = PASSWORD  # a local variable Sentry must not carry
        raise RuntimeError(f"the ledger exploded ({len(password)})")

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get(
        f"/boom?email={EMAIL}",
        headers={"Authorization": f"Bearer {TOKEN}", "Cookie": f"session={SESSION}"},
    )
    assert response.status_code == 500 and b"RuntimeError" not in response.data
    sentry_sdk.flush(timeout=10)
    sent = b"".join(sentry).decode()
    assert "RuntimeError" in sent and "the ledger exploded" in sent
    leaked = [secret for secret in (PASSWORD, TOKEN, SESSION, EMAIL) if secret in sent]
    assert leaked == []


def test_without_a_dsn_nothing_is_sent(sentry, monkeypatch):
    monkeypatch.setattr(TestConfig, "SENTRY_DSN", None)
    sentry_sdk.init(dsn=None)
    app = create_app(TestConfig)
    app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    assert app.test_client().get("/boom").status_code == 500
    sentry_sdk.flush(timeout=2)
    assert sentry == []
