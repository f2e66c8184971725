"""Two-step sign-in with an authenticator app (TOTP) and recovery codes.

The codes here come from pyotp computing the RFC 6238 code for the secret the page shows, as
any authenticator app would; the secret is read from the page, never from our tables.
"""

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyotp
import pytest
from sqlalchemy import select, text

from app import create_app
from app.access import MFA_AT_KEY
from app.extensions import db
from app.models import ActivityLog, RecoveryCode, Role
from app.services.platform.sealing import KeyRing, SealingError
from config import ProductionConfig, TestConfig
from tests.builders import lender
from tests.factories import UserFactory
from tests.helpers import PASSWORD


def _turn_on(client) -> tuple[str, list[str]]:
    """Set up two-step sign-in as a person would: read the key, type the app's code."""
    page = client.get("/account/mfa").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    wrong = client.post("/account/mfa", data={"code": "000000"})
    assert wrong.status_code == 422
    done = client.post("/account/mfa", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(
        r"<code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){5})</code>", done.get_data(as_text=True)
    )
    assert len(codes) == 10
    return secret, codes


def _code_for(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * steps_ahead))


def test_turning_it_on_stores_nothing_readable(client, login):
    user = login(UserFactory(role=Role.LENDER))
    secret, codes = _turn_on(client)
    db.session.refresh(user)
    assert user.mfa_enabled_at is not None
    dump = "\n".join(
        str(value)
        for value in db.session.execute(
            text(
                "SELECT totp_secret_sealed FROM users UNION ALL SELECT code_hash FROM recovery_codes"
            )
        ).scalars()
    )
    assert secret not in dump and not any(code.replace("-", "") in dump for code in codes)
    assert db.session.scalars(select(ActivityLog.action)).all().count("mfa.enabled") == 1


def test_signing_in_then_asks_for_a_code_and_never_takes_one_twice(app, client, login):
    user = login(UserFactory(role=Role.LENDER))
    secret, _ = _turn_on(client)
    client.post("/logout")
    first = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert first.status_code == 303 and first.headers["Location"].startswith("/login/second-step")
    assert client.get("/lender/").status_code == 302  # the password alone signs nobody in
    assert client.post("/login/second-step", data={"code": "123456"}).status_code == 422
    code = _code_for(secret, steps_ahead=1)  # the turn-on used this step's code already
    done = client.post("/login/second-step", data={"code": code})
    assert done.status_code == 303 and done.headers["Location"] == "/lender/"
    assert client.get("/lender/").status_code == 200

    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": PASSWORD})
    replay = other.post("/login/second-step", data={"code": code})
    assert replay.status_code == 422 and other.get("/lender/").status_code == 302


def test_a_recovery_code_works_once(app, client, login):
    user = login(UserFactory(role=Role.BORROWER))
    _, codes = _turn_on(client)
    client.post("/logout")
    for attempt, expected in ((codes[3].lower(), 303), (codes[3], 422)):
        browser = app.test_client()
        browser.post("/login", data={"email": user.email, "password": PASSWORD})
        assert browser.post("/login/second-step", data={"code": attempt}).status_code == expected
    used = db.session.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
    assert len(used.all()) == 1


def test_wrong_codes_pause_like_wrong_passwords(client, login):
    user = login(UserFactory(role=Role.LENDER))
    secret, _ = _turn_on(client)
    client.post("/logout")
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    for _ in range(5):
        client.post("/login/second-step", data={"code": "111111"})
    paused = client.post("/login/second-step", data={"code": _code_for(secret, 1)})
    assert paused.status_code == 422 and b"Too many wrong codes" in paused.data


def test_a_withdrawal_asks_for_a_fresh_code_after_five_minutes(client, login):
    user = login(lender(Decimal("500")))
    secret, _ = _turn_on(client)
    with client.session_transaction() as session:
        session[MFA_AT_KEY] = time.time() - 301
    form = {"amount": "100.00", "idempotency_key": uuid.uuid4().hex}
    refused = client.post(
        "/lender/withdrawals", data=form, headers={"Referer": "http://localhost/lender/"}
    )
    assert refused.status_code == 303
    assert refused.headers["Location"].startswith("/account/verify?next=/lender/")
    confirmed = client.post(refused.headers["Location"], data={"code": _code_for(secret, 1)})
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/lender/"
    assert client.post("/lender/withdrawals", data={**form, "confirmed": "yes"}).status_code == 303
    assert db.session.scalars(select(ActivityLog.action)).all().count("cash.withdrawn") == 1
    assert user.mfa_enabled_at is not None


def test_admins_must_turn_it_on_when_required(app, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_ADMIN_MFA", True)
    login(UserFactory(role=Role.ADMIN))
    sent = client.get("/admin/")
    assert sent.status_code == 303 and sent.headers["Location"] == "/account/mfa"
    _turn_on(client)
    assert client.get("/admin/").status_code == 200
    assert client.post("/account/mfa/off").status_code == 303  # refused, with a message
    assert db.session.scalars(select(ActivityLog.action)).all().count("mfa.disabled") == 0


def test_an_admin_without_a_second_factor_gets_no_api_token_when_required(app, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_ADMIN_MFA", True)
    admin = UserFactory(role=Role.ADMIN)
    answer = app.test_client().post(
        "/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD}
    )
    assert answer.status_code == 403 and answer.json["error"] == "second_factor_setup_required"


def test_the_api_asks_for_the_code_too(app, client, login):
    user = login(UserFactory(role=Role.LENDER))
    secret, _ = _turn_on(client)
    api = app.test_client()
    body = {"email": user.email, "password": PASSWORD}
    without = api.post("/api/v1/auth/login", json=body)
    assert without.status_code == 401 and without.json["error"] == "second_factor_required"
    wrong = api.post("/api/v1/auth/login", json={**body, "otp": "000000"})
    assert wrong.status_code == 401
    right = api.post("/api/v1/auth/login", json={**body, "otp": _code_for(secret, 1)})
    assert right.status_code == 200 and right.json["token"]


def test_sealed_values_name_their_key_refuse_tampering_and_the_wrong_purpose():
    old = KeyRing({"k1": b"1" * 32})
    sealed = old.seal("JBSWY3DPEHPK3PXP", "totp-seed")
    assert "JBSWY3DP" not in sealed and sealed.startswith("v1.k1.")
    rotated = KeyRing({"k1": b"1" * 32, "k2": b"2" * 32})
    assert rotated.open(sealed, "totp-seed") == "JBSWY3DPEHPK3PXP"
    assert rotated.needs_resealing(sealed) and rotated.seal("x", "p").startswith("v1.k2.")
    # One character in the middle of the ciphertext changed (every one of its bits is used;
    # the last characters may be padding, and "AA" was once what they already were).
    middle = len(sealed) - 20
    tampered = sealed[:middle] + ("B" if sealed[middle] != "B" else "C") + sealed[middle + 1 :]
    for bad in (tampered, sealed.replace(".k1.", ".k9."), "plain"):
        with pytest.raises(SealingError):
            rotated.open(bad, "totp-seed")
    with pytest.raises(SealingError):
        rotated.open(sealed, "another-column")


def test_production_needs_encryption_keys_and_admin_mfa(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", TestConfig.SQLALCHEMY_DATABASE_URI)
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "k" * 48)
    monkeypatch.setattr(ProductionConfig, "ENCRYPTION_KEYS", None)
    monkeypatch.setattr(ProductionConfig, "REQUIRE_ADMIN_MFA", False)
    with pytest.raises(RuntimeError, match="ENCRYPTION_KEYS.*REQUIRE_ADMIN_MFA"):
        create_app(ProductionConfig)
