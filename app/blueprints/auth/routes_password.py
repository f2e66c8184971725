"""Forgotten passwords: ask for a link by email, then choose a new password through it."""

from flask import flash, redirect, request, session, url_for

from app.extensions import db, limiter
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.keys import signing_keys
from app.services.accounts import password_reset
from app.services.errors import ValidationFailed

from .forms import ForgotPasswordForm, ResetPasswordForm
from .routes import _client, _login_limit, bp

TOKEN_KEY = "password_reset_token"  # noqa: S105 - a session key, not a secret
SENT = "If an account uses that email, a link to set a new password is on its way (valid one hour)."


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: _login_limit(), methods=["POST"])
def password_forgot():
    """The same answer whether or not the email has an account (no account discovery)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_reset.request_reset(db.session, form.email.data, _client())
        db.session.commit()
        flash(SENT, "info")
        return hx_redirect(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render("auth/password_forgot.html", form=form, status=status)


@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit(lambda: _login_limit(), methods=["POST"])
def password_reset_form():
    """Choose a new password (every session and API token of the account ends); the link's
    token moves into the session at once, out of later requests, history and Referer."""
    secret = signing_keys("password-reset")
    token = _reset_token()
    if password_reset.user_for_token(db.session, token, secret) is None:
        session.pop(TOKEN_KEY, None)
        return render("auth/password_reset.html", form=None, status=410)
    if "token" in request.args:
        session[TOKEN_KEY] = token
        return redirect(url_for("auth.password_reset_form"), 303)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            password_reset.reset(db.session, token, form.password.data, secret, _client())
        except ValidationFailed as error:
            db.session.rollback()
            attach_errors(form, error)
        else:
            db.session.commit()
            session.pop(TOKEN_KEY, None)
            flash("Your new password is set. Sign in with it.", "success")
            return hx_redirect(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render("auth/password_reset.html", form=form, status=status)


def _reset_token() -> str:
    """The token of the link just followed, else the one this browser's session holds."""
    followed = request.args.get("token") if request.method == "GET" else None
    return followed or session.get(TOKEN_KEY, "")
