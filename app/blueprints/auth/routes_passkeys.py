"""Passkeys on the web: adding one, signing in with one, and using one as the second step.

Each action is two calls from `static/js/passkeys.js`: options (the challenge is kept in this
session) and the browser's answer. Answers are JSON: {redirect} or {error}.
"""

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app, flash, jsonify, request, session, url_for
from flask_login import current_user, login_required

from app.access import factor_fresh, mark_factor_proved, second_factor_fresh
from app.extensions import db, limiter
from app.htmx import hx_redirect
from app.links import safe_next
from app.services.accounts import passkeys
from app.services.errors import ValidationFailed
from app.services.platform import activity

from .routes import HOME_BY_ROLE, _login_limit, _sign_in, bp
from .routes_mfa import NEW_CODES, _half_signed_in

CHALLENGE = "passkey_challenge"
PURPOSES = ("register", "signin", "second-step", "verify")


def relying_party() -> passkeys.RelyingParty:
    """This site, as PUBLIC_URL names it (passkeys are bound to its domain and origin)."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    origin = f"{public.scheme}://{public.netloc}"
    return passkeys.RelyingParty(public.hostname, current_app.config["WEBAUTHN_RP_NAME"], origin)


@bp.post("/passkeys/options")
@limiter.limit(lambda: _login_limit())
def passkey_options():
    """A fresh challenge for the browser, for one purpose."""
    purpose = request.args.get("for")
    if purpose not in PURPOSES:
        return jsonify(error="Unknown passkey action."), 400
    if purpose in ("register", "verify") and not current_user.is_authenticated:
        return jsonify(redirect=url_for("auth.login")), 401
    if purpose == "register" and current_user.mfa_enabled_at and not factor_fresh():
        return jsonify(redirect=url_for("auth.mfa_verify", next=url_for("auth.mfa_show")))
    user_id = _whose(purpose)
    if purpose == "register":
        options, challenge = passkeys.registration_options(
            db.session, current_user, relying_party()
        )
    else:
        options, challenge = passkeys.authentication_options(db.session, relying_party(), user_id)
    session[CHALLENGE] = challenge
    return current_app.response_class(options, mimetype="application/json")


@bp.post("/passkeys/register")
@login_required
def passkey_register():
    body = request.get_json(silent=True) or {}
    try:
        codes = passkeys.register(
            db.session,
            current_user,
            str(body.get("credential", "")),
            session.pop(CHALLENGE, b""),
            relying_party(),
            str(body.get("name", ""))[:100],
            datetime.now(UTC),
        )
    except ValidationFailed as error:
        db.session.rollback()
        return jsonify(error=error.errors["passkey"]), 422
    db.session.commit()
    if codes:
        session[NEW_CODES] = codes  # shown once on the next page, then gone
    flash("Passkey added.", "success")
    return jsonify(redirect=url_for("auth.mfa_show"))


@bp.post("/passkeys/<any('signin', 'second-step', 'verify'):purpose>")
@limiter.limit(lambda: _login_limit())
def passkey_use(purpose: str):
    """Sign in, finish signing in, or confirm it is you, with a passkey."""
    user = passkeys.authenticate(
        db.session,
        str((request.get_json(silent=True) or {}).get("credential", "")),
        session.pop(CHALLENGE, b""),
        relying_party(),
        datetime.now(UTC),
        user_id=_whose(purpose),
    )
    if user is None:
        db.session.commit()  # keep the refusal in the log
        return jsonify(error="That passkey did not sign in. Try again or use your password."), 422
    activity.record(db.session, "auth.passkey_used", user_id=user.id, entity=user, purpose=purpose)
    if purpose != "verify":
        _sign_in(user)
    mark_factor_proved()
    db.session.commit()
    target = safe_next(request.args.get("next"))
    return jsonify(redirect=target or url_for(HOME_BY_ROLE[user.role]))


@bp.post("/account/passkeys/<int:passkey_id>/remove")
@login_required
@second_factor_fresh
def passkey_remove(passkey_id: int):
    if passkeys.remove(db.session, current_user, passkey_id):
        db.session.commit()
        flash("Passkey removed.", "success")
    return hx_redirect(url_for("auth.mfa_show"))


def _whose(purpose: str) -> int | None:
    """Whose passkeys may answer: anyone's (sign-in), the half-signed-in person's, or yours;
    -1 (nobody's) when that person is missing."""
    if purpose == "signin":
        return None
    if purpose == "second-step":
        pending = _half_signed_in()
        return pending.id if pending else -1
    return current_user.id if current_user.is_authenticated else -1
