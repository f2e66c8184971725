"""Where you are signed in: sessions and API tokens, and ending any or all of them."""

from datetime import UTC, datetime

from flask import abort, flash, session, url_for
from flask_login import current_user, login_required

from app.access import SESSION_TOKEN_KEY
from app.extensions import db
from app.htmx import hx_redirect, render
from app.services.accounts import api_tokens, signins

from .routes import _client, bp

PAGE = "auth/signins.html"


@bp.get("/account/sessions")
@login_required
def signin_index():
    """Every live session (device, address, last use) and API token of the signed-in person."""
    now = datetime.now(UTC)
    return render(
        PAGE,
        sessions=signins.live_sessions(
            db.session, current_user.id, session.get(SESSION_TOKEN_KEY), now
        ),
        tokens=signins.live_tokens(db.session, current_user.id, now),
    )


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def signin_end(session_id: int):
    """End one session (another device's, or this one: then you are signed out)."""
    now = datetime.now(UTC)
    if not signins.end_session(db.session, current_user.id, session_id, _client(), now):
        abort(404)
    db.session.commit()
    flash("That session has ended.", "success")
    return hx_redirect(url_for("auth.signin_index"))


@bp.post("/account/sessions/end-others")
@login_required
def signin_end_others():
    """End every session but this one."""
    ended = signins.end_other_sessions(
        db.session, current_user.id, session.get(SESSION_TOKEN_KEY), _client()
    )
    db.session.commit()
    flash(f"Signed out everywhere else ({ended} session{'s' * (ended != 1)}).", "success")
    return hx_redirect(url_for("auth.signin_index"))


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    """Revoke one API token: programs using it get 401 from now on."""
    if not signins.revoke_token(
        db.session, current_user.id, token_id, _client(), datetime.now(UTC)
    ):
        abort(404)
    db.session.commit()
    flash("The token no longer works.", "success")
    return hx_redirect(url_for("auth.signin_index"))


@bp.post("/account/tokens/revoke-all")
@login_required
def token_revoke_all():
    api_tokens.revoke_all(db.session, current_user.id)
    db.session.commit()
    flash("Every API token you had no longer works.", "success")
    return hx_redirect(url_for("auth.signin_index"))
