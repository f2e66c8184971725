"""Sign in with Google (OpenID Connect, Authlib's client: state, nonce, PKCE, the ID token's
signature checked against the provider's published keys).

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

PROVIDERS = ("google",)
_registries: dict[tuple, OAuth] = {}  # per app and settings: the metadata is fetched once


def client(provider: str):
    """The provider's client as configured now (its metadata fetched from the provider)."""
    config = current_app.config
    prefix = provider.upper()
    if provider not in PROVIDERS or not config.get(f"{prefix}_CLIENT_ID"):
        abort(404)
    settings = {
        "client_id": config[f"{prefix}_CLIENT_ID"],
        "client_secret": config[f"{prefix}_CLIENT_SECRET"],
        "server_metadata_url": config[f"{prefix}_METADATA_URL"],
    }
    app = current_app._get_current_object()
    key = (id(app), provider, *settings.values())
    if key not in _registries:
        registry = OAuth(app)
        registry.register(
            provider,
            **settings,
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        )
        _registries[key] = registry
    return _registries[key].create_client(provider)


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
        token = client(provider).authorize_access_token()
    except OAuthError as error:  # a bad state, a refused consent, an ID token that fails
        flash(f"{provider.title()} sign-in did not complete ({error.error}).", "error")
        return redirect(url_for("auth.login"), 303)
    info = token.get("userinfo") or {}
    if not info.get("sub") or not info.get("email") or info.get("email_verified") is not True:
        flash(f"{provider.title()} did not confirm an email address for you.", "error")
        return redirect(url_for("auth.login"), 303)
    return _arrived(provider, str(info["sub"]), str(info["email"]).lower())


def _arrived(provider: str, subject: str, email: str):
    now = datetime.now(UTC)
    if current_user.is_authenticated:  # linking from one's own, signed-in account
        linked = identities.link(db.session, current_user, provider, subject, email)
        db.session.commit()
        flash(
            f"{provider.title()} is linked."
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
            f"{provider.title()}.",
            "info",
        )
        return redirect(url_for("auth.login"), 303)
    flash(f"No account uses {email} yet: open one, then link {provider.title()}.", "info")
    return redirect(url_for("auth.register"), 303)
