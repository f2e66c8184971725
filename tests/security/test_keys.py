"""Separate secrets: each purpose signs with its own derived key, and SECRET_KEY rotates.

A session cookie, a CSRF token and an emailed link are each signed with a key derived for that
purpose alone, so none can stand in for another. After a rotation (new SECRET_KEY, the old one
in SECRET_KEY_FALLBACKS) what the old key signed still verifies and what is new is signed with
the new key; without the fallback, the old values stop working.
"""

import pytest
from itsdangerous import URLSafeTimedSerializer

from app import create_app, keys
from app.extensions import db
from app.models import Role
from app.services.accounts import password_reset
from config import TestConfig
from tests.factories import UserFactory
from tests.helpers import PASSWORD

OLD, NEW = "old-secret-" + "o" * 40, "new-secret-" + "n" * 40


def _app_with(secret: str, fallbacks: list[str]):
    class Rotated(TestConfig):
        SECRET_KEY = secret
        SECRET_KEY_FALLBACKS = fallbacks

    return create_app(Rotated)


def test_every_purpose_has_its_own_key_and_none_is_the_master(app):
    master = TestConfig.SECRET_KEY
    used = {
        app.config["SECRET_KEY"],
        app.config["WTF_CSRF_SECRET_KEY"],
        *(purpose_keys[-1] for purpose_keys in app.config["SIGNING_KEYS"].values()),
    }
    assert len(used) == len(keys.PURPOSES) and master not in used


def test_a_value_signed_for_one_purpose_does_not_pass_for_another(app):
    user = UserFactory()
    with app.app_context():
        forged = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=password_reset.SALT).dumps(
            {"id": user.id, "fp": password_reset._fingerprint(user.password_hash)}
        )
        reset_keys = app.config["SIGNING_KEYS"]["password-reset"]
        genuine = password_reset.make_token(user, reset_keys)
        assert password_reset.user_for_token(db.session, forged, reset_keys) is None
        assert password_reset.user_for_token(db.session, genuine, reset_keys).id == user.id
        assert (
            password_reset.user_for_token(
                db.session, genuine, app.config["SIGNING_KEYS"]["confirm-email"]
            )
            is None
        )


@pytest.mark.committing  # three apps, one database: the user must be committed
def test_rotating_the_secret_keeps_sessions_and_links_only_while_the_fallback_is_kept(
    committed,
):
    user = UserFactory(role=Role.LENDER)
    committed.commit()
    before, during, after = _app_with(OLD, []), _app_with(NEW, [OLD]), _app_with(NEW, [])
    browser = before.test_client()
    assert browser.post("/login", data={"email": user.email, "password": PASSWORD}).status_code
    cookie = browser.get_cookie("session").value
    with before.app_context():
        link_token = password_reset.make_token(
            user, before.config["SIGNING_KEYS"]["password-reset"]
        )

    def signed_in_on(app) -> bool:
        client = app.test_client()
        client.set_cookie("session", cookie)
        return client.get("/lender/").status_code == 200

    def link_works_on(app) -> bool:
        with app.app_context():
            return (
                password_reset.user_for_token(
                    db.session, link_token, app.config["SIGNING_KEYS"]["password-reset"]
                )
                is not None
            )

    assert signed_in_on(before) and link_works_on(before)
    assert signed_in_on(during) and link_works_on(during)
    assert not signed_in_on(after) and not link_works_on(after)
    with during.app_context():
        fresh = password_reset.make_token(user, during.config["SIGNING_KEYS"]["password-reset"])
    with after.app_context():  # what is signed during the grace period is under the new key
        keys_now = after.config["SIGNING_KEYS"]["password-reset"]
        assert password_reset.user_for_token(db.session, fresh, keys_now) is not None
