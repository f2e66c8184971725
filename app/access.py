"""Who may see what: sign-in loading, role checks and ownership lookups."""

import time
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit, urlunsplit

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required

from app.extensions import db, login_manager
from app.htmx import hx_login_required, hx_redirect, is_htmx
from app.links import safe_next
from app.models import Role
from app.security_events import security_event
from app.services.accounts import accounts

SESSION_TOKEN_KEY = "sid"  # noqa: S105 - a session key name, not a secret
MFA_AT_KEY = "mfa_at"  # when this session last proved the second factor (epoch seconds)
FRESH_FOR = timedelta(minutes=5)


@login_manager.user_loader
def load_user(user_id: str):
    """The user whose live server-side session this cookie names."""
    if not user_id.isdigit():
        return None
    return accounts.session_user(db.session, int(user_id), session.get(SESSION_TOKEN_KEY))


@login_manager.unauthorized_handler
def unauthorized():
    """Send anonymous users to sign in (htmx: 401 + HX-Redirect, never a 302 into a swap)."""
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    login_url = url_for("auth.login", next=next_path)
    if is_htmx():
        return hx_login_required(login_url)
    return redirect(login_url)


def role_required(*roles: Role):
    """Allow signed-in users with one of `roles`; others get 403. Admins without two-step
    sign-in are sent to turn it on first when REQUIRE_ADMIN_MFA is set."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            if _admin_without_mfa():
                flash("Administrators must turn on two-step sign-in first.", "error")
                return hx_redirect(url_for("auth.mfa_show"))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def owned_or_404(model, object_id: int, owner_column: str):
    """The object if the signed-in user owns it (admins see all); everyone else gets 404."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    if current_user.role is not Role.ADMIN and getattr(obj, owner_column) != current_user.id:
        security_event("security.not_yours", entity_type=obj.__tablename__, entity_id=object_id)
        abort(404)
    return obj


def _admin_without_mfa() -> bool:
    return (
        current_user.role is Role.ADMIN
        and current_app.config["REQUIRE_ADMIN_MFA"]
        and current_user.mfa_enabled_at is None
    )


def second_factor_fresh(view):
    """Before a sensitive action (withdrawing, a new password, changing two-step sign-in, an
    admin approval), someone with two-step sign-in on gives a code again if their last one is
    more than `FRESH_FOR` old; they come back to the page they were on."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user.is_authenticated and current_user.mfa_enabled_at and not factor_fresh():
            flash("Confirm it is you with a code from your app first.", "info")
            return hx_redirect(url_for("auth.mfa_verify", next=_back_to()))
        return view(*args, **kwargs)

    return wrapped


def factor_fresh() -> bool:
    proved = session.get(MFA_AT_KEY)
    return proved is not None and time.time() - proved < FRESH_FOR.total_seconds()


def mark_factor_proved() -> None:
    session[MFA_AT_KEY] = time.time()


def _back_to() -> str | None:
    if request.method == "GET":
        return safe_next(request.full_path.rstrip("?"))
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return None
    return safe_next(urlunsplit(("", "", referrer.path, referrer.query, "")))
