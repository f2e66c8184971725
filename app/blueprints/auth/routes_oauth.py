"""Sign in with Google (OpenID Connect, Authlib's client: state, nonce, PKCE, the ID token's
signature checked against the provider's published keys) or GitHub (OAuth 2.0 with state and
PKCE; who you are and your verified email come from its REST API, as it has no ID token).

Three outcomes: a linked account signs in (its second step still asked for); an unlinked email
that has an account here is remembered and linked once its owner signs in with their own
password or passkey; anyone else is sent to open an account first.
"""

from datetime import UTC, datetime

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import abort, current_app, flash, redirect, session, url_for
from flask_login import current_user

from app.extensions import db, limiter
from app.services.accounts import accounts, identities

from .routes import HOME_BY_ROLE, OAUTH_LINK, _login_limit, _sign_in, _start_second_step, bp

PROVIDERS = tuple(identities.PROVIDER_NAMES)
_registries: dict[tuple, OAuth] = {}  # per app and settings: the metadata is fetched once


def client(provider: str):
    """The provider's client as configured now (Google's metadata fetched from Google)."""
    config = current_app.config
    prefix = provider.upper()
    if provider not in PROVIDERS or not config.get(f"{prefix}_CLIENT_ID"):
        abort(404)
    settings = {
        "client_id": config[f"{prefix}_CLIENT_ID"],
        "client_secret": config[f"{prefix}_CLIENT_SECRET"],
        **(_github_endpoints(config) if provider == "github" else _google_endpoints(config)),
    }
    app = current_app._get_current_object()
    key = (id(app), provider, repr(settings))
    if key not in _registries:
        registry = OAuth(app)
        registry.register(provider, **settings)
        _registries[key] = registry
    return _registries[key].create_client(provider)


def _google_endpoints(config) -> dict:
    return {
        "server_metadata_url": config["GOOGLE_METADATA_URL"],
        "client_kwargs": {"scope": "openid email profile", "code_challenge_method": "S256"},
    }


def _github_endpoints(config) -> dict:
    return {
        "authorize_url": f"{config['GITHUB_URL']}/login/oauth/authorize",
        "access_token_url": f"{config['GITHUB_URL']}/login/oauth/access_token",
        "api_base_url": f"{config['GITHUB_API_URL']}/",
        "client_kwargs": {"scope": "read:user user:email", "code_challenge_method": "S256"},
    }


@bp.app_context_processor
def sign_in_providers() -> dict:
    """The providers switched on (a client id set), for the sign-in and two-step pages."""
    on = [p for p in PROVIDERS if current_app.config.get(f"{p.upper()}_CLIENT_ID")]
    return {"sign_in_providers": [(p, identities.PROVIDER_NAMES[p]) for p in on]}


@bp.get("/login/<provider>")
@limiter.limit(lambda: _login_limit())
def oauth_start(provider: str):
    """Off to the provider; it comes back to the callback."""
    callback = url_for("auth.oauth_callback", provider=provider, _external=True)
    return client(provider).authorize_redirect(callback)


@bp.get("/login/<provider>/callback")
@limiter.limit(lambda: _login_limit())
def oauth_callback(provider: str):
    try:
        oauth = client(provider)
        token = oauth.authorize_access_token()
        who = _github_person(oauth, token) if provider == "github" else _google_person(token)
    except (OAuthError, ValueError, OSError) as error:  # a bad state, a refusal, a bad answer
        reason = getattr(error, "error", None) or "no answer we could read"
        flash(
            f"{identities.PROVIDER_NAMES[provider]} sign-in did not complete ({reason}).", "error"
        )
        return redirect(url_for("auth.login"), 303)
    if who is None:
        flash(
            f"{identities.PROVIDER_NAMES[provider]} did not confirm an email address for you.",
            "error",
        )
        return redirect(url_for("auth.login"), 303)
    return _arrived(provider, *who)


def _google_person(token: dict) -> tuple[str, str] | None:
    """The ID token's subject and email, when Google verified the email."""
    info = token.get("userinfo") or {}
    if not info.get("sub") or not info.get("email") or info.get("email_verified") is not True:
        return None
    return str(info["sub"]), str(info["email"]).lower()


def _github_person(oauth, token: dict) -> tuple[str, str] | None:
    """GitHub's numeric user id and the primary email it has verified (from /user/emails:
    the profile's public email may be unverified or absent)."""
    person = oauth.get("user", token=token, timeout=10)
    emails = oauth.get("user/emails", token=token, timeout=10)
    person.raise_for_status()
    emails.raise_for_status()
    subject = person.json().get("id")
    verified = [
        e.get("email")
        for e in emails.json()
        if isinstance(e, dict) and e.get("primary") and e.get("verified") is True
    ]
    if not isinstance(subject, int) or not verified or not verified[0]:
        return None
    return str(subject), str(verified[0]).lower()


def _arrived(provider: str, subject: str, email: str):
    now = datetime.now(UTC)
    if current_user.is_authenticated:  # linking from one's own, signed-in account
        linked = identities.link(db.session, current_user, provider, subject, email)
        db.session.commit()
        flash(
            f"{identities.PROVIDER_NAMES[provider]} is linked."
            if linked
            else "That account is linked to someone else.",
            "success" if linked else "error",
        )
        return redirect(url_for("auth.mfa_show"), 303)
    user = identities.user_for(db.session, provider, subject, now)
    if user is not None:
        db.session.commit()
        if user.mfa_enabled_at is not None:
            return _start_second_step(user)
        _sign_in(user)
        db.session.commit()
        return redirect(url_for(HOME_BY_ROLE[user.role]), 303)
    if accounts.email_taken(db.session, email):
        session[OAUTH_LINK] = {"provider": provider, "subject": subject, "email": email}
        flash(
            f"An account here uses {email}. Sign in once with its password or passkey to link "
            f"{identities.PROVIDER_NAMES[provider]}.",
            "info",
        )
        return redirect(url_for("auth.login"), 303)
    flash(
        f"No account uses {email} yet: open one, then link {identities.PROVIDER_NAMES[provider]}.",
        "info",
    )
    return redirect(url_for("auth.register"), 303)
