"""The original design's settings, set as environment variables, change what the app does.

Each test sets the variables and reads `config.py` afresh, as a process started with them
would (the suite's own config was read once, at import). Where the effect is in how the app
is built (headers, CORS, logging), the test builds an app from that configuration; where it
is in a request against the database, it hands the freshly read values to the test app.
"""

import importlib.util
import io
import logging
import re
from types import ModuleType

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.integrations.smtp import mailer_for
from app.models import Document, Notification, RiskAssessment, Role
from config import BASE_DIR, TestConfig
from tests.factories import CompleteUserFactory, UserFactory
from tests.mailbox import Inbox, free_port

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def settings(monkeypatch, **environment: str) -> ModuleType:
    """config.py as a process started with `environment` reads it."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("config_from_environment", BASE_DIR / "config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _production(monkeypatch, **environment: str) -> ModuleType:
    """The variables production insists on, and `environment`."""
    return settings(
        monkeypatch,
        APP_ENV="production",
        SECRET_KEY="k" * 48,
        DATABASE_URL=TestConfig.SQLALCHEMY_DATABASE_URI,
        ENCRYPTION_KEYS=TestConfig.ENCRYPTION_KEYS,
        REDIS_URL=TestConfig.REDIS_URL,
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_PUBLISHABLE_KEY="pk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_x",
        SEED_DEMO_DATA="false",
        **environment,
    )


class Credentials:
    """An SMTP server's AUTH check: remembers who signed in, accepts one login."""

    def __init__(self, username: str, password: str):
        self.expected, self.seen = (username.encode(), password.encode()), []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=(auth_data.login, auth_data.password) == self.expected)


def test_smtp_user_and_smtp_pass_sign_in_to_the_mail_server(monkeypatch):
    credentials, inbox = Credentials("mailer", "s3cret-pass"), Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=credentials,
        auth_required=True,
        auth_require_tls=False,  # a local test server; production mail uses SMTP_USE_TLS
    )
    controller.start()
    try:
        config = settings(
            monkeypatch,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(controller.port),
            SMTP_USER="mailer",
            SMTP_PASS="s3cret-pass",
        ).Config
        mailer = mailer_for({name: getattr(config, name) for name in dir(config) if name.isupper()})
        mailer.send("someone@example.com", "Hello", "Plain text", "<p>Html</p>")
    finally:
        controller.stop()
    assert credentials.seen == [(b"mailer", b"s3cret-pass")]
    assert [to for to, _ in inbox.messages] == [["someone@example.com"]]


def test_our_smtp_names_win_over_the_originals(monkeypatch):
    config = settings(
        monkeypatch, SMTP_USERNAME="ours", SMTP_USER="theirs", SMTP_PASS="their-pass"
    ).Config
    assert (config.SMTP_USERNAME, config.SMTP_PASSWORD) == ("ours", "their-pass")


def _upload(client, data: bytes, name: str):
    return client.post(
        "/account/documents",
        data={"kind": "identity", "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_allowed_file_types_limits_uploads_by_their_contents(app, client, login, monkeypatch):
    config = settings(monkeypatch, ALLOWED_FILE_TYPES="application/pdf").Config
    assert config.UPLOAD_ALLOWED_TYPES == ("pdf",)
    monkeypatch.setitem(app.config, "UPLOAD_ALLOWED_TYPES", config.UPLOAD_ALLOWED_TYPES)
    login(UserFactory(role=Role.BORROWER))
    refused = _upload(client, PNG, "id.pdf")  # a PNG by its bytes, whatever its name says
    assert refused.status_code == 422
    assert b"This file is not a PDF (we check the contents" in refused.data
    assert db.session.scalars(select(Document)).all() == []
    assert _upload(client, PDF, "id.pdf").status_code in (200, 303)
    assert len(db.session.scalars(select(Document)).all()) == 1


def test_allowed_file_types_reads_extensions_and_mime_types_alike(monkeypatch):
    config = settings(monkeypatch, ALLOWED_FILE_TYPES=" .PDF, image/jpeg,png ").Config
    assert config.UPLOAD_ALLOWED_TYPES == ("pdf", "jpg", "jpeg", "png")


def test_a_file_type_the_upload_cannot_check_is_refused_at_start(monkeypatch):
    config = settings(monkeypatch, ALLOWED_FILE_TYPES="pdf,exe").TestConfig
    with pytest.raises(RuntimeError, match="ALLOWED_FILE_TYPES may name only .* not exe"):
        create_app(config)


def test_upload_max_size_refuses_a_larger_document(app, client, login, monkeypatch):
    config = settings(monkeypatch, UPLOAD_MAX_SIZE="2048").Config
    monkeypatch.setitem(app.config, "UPLOAD_MAX_SIZE", config.UPLOAD_MAX_SIZE)
    login(UserFactory(role=Role.BORROWER))
    refused = _upload(client, PDF + b"%" * 4096, "big.pdf")
    assert refused.status_code == 422 and b"The file is larger than 2 KB." in refused.data
    assert db.session.scalars(select(Document)).all() == []


@pytest.mark.parametrize("spelling", ["debug", "Debug", "DEBUG"])
def test_log_level_in_any_case(monkeypatch, spelling):
    built = create_app(settings(monkeypatch, LOG_LEVEL=spelling).TestConfig)
    assert built.logger.getEffectiveLevel() == logging.DEBUG


def test_an_unknown_log_level_is_refused_at_start(monkeypatch):
    with pytest.raises(RuntimeError, match="LOG_LEVEL must be one of DEBUG, INFO"):
        create_app(settings(monkeypatch, LOG_LEVEL="loud").TestConfig)


def test_cors_origin_opens_the_api_to_those_origins_only(monkeypatch):
    built = create_app(
        settings(
            monkeypatch, CORS_ORIGIN="https://app.example.com, https://m.example.com/"
        ).TestConfig
    )
    client = built.test_client()
    preflight = client.options(
        "/api/v1/auth/login",
        headers={
            "Origin": "https://m.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://m.example.com"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers  # bearer tokens only
    other = client.options(
        "/api/v1/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in other.headers
    page = client.get("/login", headers={"Origin": "https://app.example.com"})
    assert page.status_code == 200 and "Access-Control-Allow-Origin" not in page.headers


def test_without_cors_origin_the_api_answers_no_cross_origin_request(app, client):
    preflight = client.options(
        "/api/v1/auth/login",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_production_refuses_cors_for_every_origin(monkeypatch):
    with pytest.raises(RuntimeError, match=r"CORS_ORIGIN must name the origins in production"):
        create_app(_production(monkeypatch, CORS_ORIGIN="*").ProductionConfig)


def test_security_headers_can_be_switched_off_outside_production(monkeypatch):
    headers_on = create_app(settings(monkeypatch).TestConfig).test_client().get("/login")
    assert "Content-Security-Policy" in headers_on.headers
    built = create_app(settings(monkeypatch, SECURITY_HEADERS_ENABLED="false").TestConfig)
    page = built.test_client().get("/login")
    assert page.status_code == 200
    assert "Content-Security-Policy" not in page.headers and "X-Frame-Options" not in page.headers


def test_production_sends_security_headers_whatever_the_switch_says(monkeypatch):
    built = create_app(_production(monkeypatch, SECURITY_HEADERS_ENABLED="false").ProductionConfig)
    page = built.test_client().get("/login", base_url="https://localhost")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "max-age" in page.headers["Strict-Transport-Security"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("false", False), ("0", False), ("Off", False), ("TRUE", True), ("yes", True)],
)
def test_the_feature_flags_read_their_environment_variables(monkeypatch, value, expected):
    names = ("ENABLE_ML_SCORING", "ENABLE_AUTO_MATCHING", "ENABLE_EMAIL_NOTIFICATIONS")
    config = settings(monkeypatch, **dict.fromkeys(names, value)).Config
    assert [getattr(config, name) for name in names] == [expected] * 3


def test_enable_ml_scoring_false_lets_the_rules_decide(app, client, login, monkeypatch, no_redis):
    from app.background import jobs
    from tests.web.test_borrower import APPLICATION

    config = settings(monkeypatch, ENABLE_ML_SCORING="false").Config
    monkeypatch.setitem(app.config, "ENABLE_ML_SCORING", config.ENABLE_ML_SCORING)
    login(CompleteUserFactory(role=Role.BORROWER))
    client.post("/borrower/applications", data=APPLICATION)
    jobs.relay()
    assert db.session.scalars(select(RiskAssessment.scorer)).one() == "rules"


def test_enable_auto_matching_true_opens_the_auto_invest_controls(app, client, login, monkeypatch):
    config = settings(monkeypatch, ENABLE_AUTO_MATCHING="true").Config
    monkeypatch.setitem(app.config, "ENABLE_AUTO_MATCHING", config.ENABLE_AUTO_MATCHING)
    login(CompleteUserFactory(role=Role.LENDER))
    page = client.get("/lender/recommendations").get_data(as_text=True)
    box = re.search(r'<input[^>]*id="auto_invest_enabled"[^>]*>', page).group(0)
    assert "disabled" not in box and "switched off on this platform" not in page


def test_enable_email_notifications_false_keeps_notices_in_the_app(app, smtp, monkeypatch):
    from app.background import jobs
    from app.services.platform import notifications

    config = settings(monkeypatch, ENABLE_EMAIL_NOTIFICATIONS="false").Config
    monkeypatch.setitem(app.config, "ENABLE_EMAIL_NOTIFICATIONS", config.ENABLE_EMAIL_NOTIFICATIONS)
    user = UserFactory(role=Role.BORROWER)
    notifications.notify(db.session, user.id, "loan.offered", "Your offer", "Grade B2.")
    jobs.relay()
    assert smtp.messages == []
    assert db.session.scalars(select(Notification.title)).all() == ["Your offer"]
