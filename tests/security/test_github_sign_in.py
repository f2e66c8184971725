"""Sign in with GitHub, against a GitHub-shaped OAuth 2.0 server on localhost
(tests/github_provider.py, built from Authlib's server side): our client sends the browser to
its authorize page, swaps the code with PKCE over HTTP, and asks its REST API who this is and
which email GitHub has verified.

The rule is Google's: GitHub's word alone never opens an account here; an unlinked email is
linked only after its owner signs in with their own password.
"""

import re
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import OAuthIdentity, Role, User
from tests.factories import UserFactory
from tests.github_provider import GitHub
from tests.helpers import PASSWORD

CALLBACK = "http://localhost/login/github/callback"


@pytest.fixture()
def github(app, monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test server speaks plain HTTP
    server = GitHub(CALLBACK).start()
    for name, value in {
        "GITHUB_CLIENT_ID": server.client_id,
        "GITHUB_CLIENT_SECRET": server.client_secret,
        "GITHUB_URL": server.url,
        "GITHUB_API_URL": server.api_url,
    }.items():
        monkeypatch.setitem(app.config, name, value)
    yield server
    server.stop()


def _through_github(client, github, person, state_tampered=False):
    """The browser's round trip: to us, to GitHub (over HTTP), back to our callback."""
    github.signed_in = person
    start = client.get("/login/github")
    assert start.status_code == 302 and start.headers["Location"].startswith(github.url)
    assert "code_challenge=" in start.headers["Location"]  # PKCE
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["Location"])
    query = re.sub(r"state=[^&]+", "state=forged", back.query) if state_tampered else back.query
    return client.get(f"{back.path}?{query}")


def _person(user, verified=True, primary=True):
    emails = [
        {"email": "old.address@example.com", "primary": False, "verified": True},
        {"email": user.email, "primary": primary, "verified": verified},
    ]
    return {"id": 5_000 + user.id, "login": f"octo{user.id}", "emails": emails}


def test_github_links_after_the_password_then_signs_in(client, github):
    user = UserFactory(role=Role.BORROWER)
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with GitHub" in page and "Sign in with Google" not in page
    arrived = _through_github(client, github, _person(user))
    assert arrived.status_code == 303 and arrived.headers["Location"] == "/login"
    assert client.get("/borrower/").status_code == 302  # GitHub alone opened nothing
    assert db.session.scalar(select(func.count()).select_from(OAuthIdentity)) == 0

    client.post("/login", data={"email": user.email, "password": PASSWORD})
    identity = db.session.scalars(select(OAuthIdentity)).one()
    assert (identity.provider, identity.subject) == ("github", str(5_000 + user.id))
    assert "Linked to" in client.get("/account/mfa").get_data(as_text=True)

    client.post("/logout")
    again = _through_github(client, github, _person(user))
    assert again.status_code == 303 and again.headers["Location"] == "/borrower/"


def test_only_a_verified_primary_email_counts(client, github):
    user = UserFactory(role=Role.LENDER)
    for person in (_person(user, verified=False), _person(user, primary=False)):
        arrived = _through_github(client, github, person)
        assert arrived.status_code == 303 and arrived.headers["Location"] == "/login"
        flashed = client.get("/login").get_data(as_text=True)
        assert "GitHub did not confirm an email address for you" in flashed
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert db.session.scalar(select(func.count()).select_from(OAuthIdentity)) == 0


def test_a_forged_state_or_a_stranger_opens_nothing(client, github):
    user = UserFactory(role=Role.LENDER)
    forged = _through_github(client, github, _person(user), state_tampered=True)
    assert forged.status_code == 303 and forged.headers["Location"] == "/login"
    stranger = {
        "id": 77,
        "login": "stranger",
        "emails": [{"email": "new.person@example.com", "primary": True, "verified": True}],
    }
    arrived = _through_github(client, github, stranger)
    assert arrived.headers["Location"] == "/register"
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_github_is_off_without_a_client_id(client):
    assert client.get("/login/github").status_code == 404
    assert "Sign in with GitHub" not in client.get("/login").get_data(as_text=True)


def test_production_sends_people_only_to_github_itself(monkeypatch):
    from app import create_app
    from tests.test_settings_from_environment import _production

    config = _production(
        monkeypatch,
        GITHUB_CLIENT_ID="id",
        GITHUB_CLIENT_SECRET="s",
        GITHUB_URL="http://127.0.0.1:1",
    ).ProductionConfig
    with pytest.raises(RuntimeError, match="GITHUB_URL and GITHUB_API_URL must be GitHub's own"):
        create_app(config)
