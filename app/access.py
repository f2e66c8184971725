"""Who may see what: sign-in loading, role checks and ownership lookups."""

from functools import wraps

from flask import abort, redirect, request, session, url_for
from flask_login import current_user, login_required

from app.extensions import db, login_manager
from app.htmx import hx_login_required, is_htmx
from app.models import Role
from app.security_events import security_event
from app.services.accounts import accounts

SESSION_TOKEN_KEY = "sid"  # noqa: S105 - a session key name, not a secret


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
    """Allow signed-in users with one of `roles`; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
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
