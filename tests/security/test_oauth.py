"""Sign in with Google, against a real OpenID Connect provider on localhost (tests/oidc_provider.py,
built from Authlib's server side): our client fetches its discovery document, sends the browser
there, exchanges the code over HTTP and checks the RS256 ID token against its JWKS.

The rule under test: the provider's word alone never opens an account here. An unlinked email
is linked only after its owner signs in with their own password; then Google signs them in.
"""

import re
from urllib.parse import urlsplit

import pyotp
import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import OAuthIdentity, Role, User
from tests.factories import UserFactory
from tests.helpers import PASSWORD
from tests.oidc_provider import Provider

CALLBACK = "http://localhost/login/google/callback"


@pytest.fixture()
def google(app, monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test provider speaks plain HTTP
    provider = Provider(CALLBACK).start()
    for name, value in {
        "GOOGLE_CLIENT_ID": provider.client_id,
        "GOOGLE_CLIENT_SECRET": provider.client_secret,
        "GOOGLE_METADATA_URL": f"{provider.url}/.well-known/openid-configuration",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    yield provider
    provider.stop()


def _through_google(client, provider, person, state_tampered=False):
    """The browser's round trip: to us, to the provider (over HTTP), back to our callback."""
    provider.signed_in = person
    start = client.get("/login/google")
    assert start.status_code == 302 and start.headers["Location"].startswith(provider.url)
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["Location"])
    query = re.sub(r"state=[^&]+", "state=forged", back.query) if state_tampered else back.query
    return client.get(f"{back.path}?{query}")


def _person(user, verified=True):
    return {"sub": f"google-{user.id}", "email": user.email, "email_verified": verified}


def test_an_unlinked_account_is_linked_only_after_its_password_then_google_signs_in(client, google):
    user = UserFactory(role=Role.LENDER)
    arrived = _through_google(client, google, _person(user))
    assert arrived.status_code == 303 and arrived.headers["Location"] == "/login"
    assert client.get("/lender/").status_code == 302  # Google alone opened nothing
    assert db.session.scalar(select(func.count()).select_from(OAuthIdentity)) == 0

    signed_in = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert signed_in.status_code == 303
    identity = db.session.scalars(select(OAuthIdentity)).one()
    assert (identity.user_id, identity.subject) == (user.id, f"google-{user.id}")

    client.post("/logout")
    again = _through_google(client, google, _person(user))
    assert again.status_code == 303 and again.headers["Location"] == "/lender/"
    assert client.get("/lender/").status_code == 200


def test_someone_with_no_account_is_sent_to_open_one(client, google):
    stranger = {"sub": "google-x", "email": "new.person@example.com", "email_verified": True}
    arrived = _through_google(client, google, stranger)
    assert arrived.status_code == 303 and arrived.headers["Location"] == "/register"
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_an_unverified_email_or_a_forged_state_links_nothing(client, google):
    user = UserFactory(role=Role.LENDER)
    unverified = _through_google(client, google, _person(user, verified=False))
    assert unverified.headers["Location"] == "/login"
    forged = _through_google(client, google, _person(user), state_tampered=True)
    assert forged.status_code == 303 and forged.headers["Location"] == "/login"
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert db.session.scalar(select(func.count()).select_from(OAuthIdentity)) == 0


def test_google_does_not_skip_the_second_step(client, login, google):
    user = login(UserFactory(role=Role.LENDER))
    page = client.get("/account/mfa").get_data(as_text=True)
    seed = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    client.post("/account/mfa", data={"code": pyotp.TOTP(seed).now()})
    linked = _through_google(client, google, _person(user))  # linking while signed in
    assert linked.headers["Location"] == "/account/mfa"
    client.post("/logout")
    arrived = _through_google(client, google, _person(user))
    assert arrived.headers["Location"].startswith("/login/second-step")
    assert client.get("/lender/").status_code == 302
