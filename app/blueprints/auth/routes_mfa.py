"""Two-step sign-in on the web: turning it on, the second step of signing in, and confirming
it is you again before a sensitive action."""

import time
from datetime import UTC, datetime

import segno
from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required

from app.access import mark_factor_proved, second_factor_fresh
from app.extensions import db, get_key_ring, limiter
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.links import safe_next
from app.models import Role, User
from app.services.accounts import identities, mfa, passkeys
from app.services.errors import ValidationFailed

from .forms import CodeForm
from .routes import HOME_BY_ROLE, PENDING_SINCE, PENDING_USER, _login_limit, _sign_in, bp

PAGE, STEP_PAGE = "auth/mfa.html", "auth/second_step.html"
SETUP_SECRET = "mfa_setup"  # noqa: S105 - the session key that holds the seed being set up
NEW_CODES = "mfa_new_codes"  # recovery codes made by adding a first passkey, shown once
PENDING_FOR_SECONDS = 300


@bp.route("/login/second-step", methods=["GET", "POST"])
@limiter.limit(lambda: _login_limit(), methods=["POST"])
def login_second_step():
    """The code that finishes signing in."""
    user = _half_signed_in()
    if user is None:
        flash("Sign in again: that took longer than five minutes.", "error")
        return redirect(url_for("auth.login"), 303)
    form = CodeForm()
    if form.validate_on_submit():
        if _code_accepted(user, form):
            _sign_in(user)
            mark_factor_proved()
            db.session.commit()
            home = url_for(HOME_BY_ROLE[user.role])
            return hx_redirect(safe_next(request.args.get("next")) or home)
        db.session.commit()  # keep the failure count and its log row
    status = 422 if form.is_submitted() else 200
    return render(STEP_PAGE, "code_form", form=form, signing_in=True, status=status)


@bp.route("/account/verify", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: _login_limit(), methods=["POST"])
def mfa_verify():
    """Confirm it is you (a fresh code) before a sensitive action, then go back to it."""
    form = CodeForm()
    if form.validate_on_submit():
        if _code_accepted(current_user, form):
            mark_factor_proved()
            db.session.commit()
            back = safe_next(request.args.get("next")) or url_for("auth.profile_show")
            return hx_redirect(back)
        db.session.commit()
    status = 422 if form.is_submitted() else 200
    return render(STEP_PAGE, "code_form", form=form, signing_in=False, status=status)


@bp.get("/account/mfa")
@login_required
def mfa_show():
    """Two-step sign-in: its state, the authenticator app (or how to set it up), passkeys."""
    codes = session.pop(NEW_CODES, None)
    if codes:
        return render(PAGE, codes=codes)
    return render(PAGE, **_mfa_page(CodeForm(formdata=None)))


@bp.post("/account/mfa")
@login_required
def mfa_enable():
    """Turn it on with the first code from the app; the recovery codes are shown once."""
    form = CodeForm()
    if current_user.totp_secret_sealed is None and form.validate_on_submit():
        try:
            codes = mfa.enable(
                db.session,
                current_user,
                session.get(SETUP_SECRET, ""),
                form.code.data,
                get_key_ring(),
                datetime.now(UTC),
            )
        except ValidationFailed as error:
            attach_errors(form, error, "code")
        else:
            session.pop(SETUP_SECRET, None)
            mark_factor_proved()
            db.session.commit()
            return render(PAGE, "recovery_codes", codes=codes)
    return render(PAGE, "setup", status=422, **_mfa_page(form))


@bp.post("/account/mfa/codes")
@login_required
@second_factor_fresh
def mfa_codes():
    """New recovery codes; the old ones stop working."""
    codes = mfa.regenerate_codes(db.session, current_user)
    db.session.commit()
    return render(PAGE, "recovery_codes", codes=codes)


@bp.post("/account/mfa/off")
@login_required
@second_factor_fresh
def mfa_disable():
    if current_user.role is Role.ADMIN and current_app.config["REQUIRE_ADMIN_MFA"]:
        flash("Administrators keep two-step sign-in on.", "error")
    else:
        mfa.disable(db.session, current_user)
        db.session.commit()
        flash("Two-step sign-in is off.", "success")
    return hx_redirect(url_for("auth.mfa_show"))


def _half_signed_in() -> User | None:
    since = session.get(PENDING_SINCE)
    if since is None or time.time() - since > PENDING_FOR_SECONDS:
        return None
    user = db.session.get(User, session.get(PENDING_USER))
    return user if user is not None and user.is_active else None


def _code_accepted(user: User, form: CodeForm) -> bool:
    problem = mfa.check(db.session, user, form.code.data, get_key_ring(), datetime.now(UTC))
    if problem:
        form.code.errors.append(problem)
    return problem is None


def _mfa_page(form: CodeForm) -> dict:
    page = {
        "form": form,
        "passkeys": passkeys.of_user(db.session, current_user.id),
        "identities": identities.of_user(db.session, current_user.id),
    }
    if current_user.mfa_enabled_at is not None:
        page["codes_left"] = mfa.codes_left(db.session, current_user.id)
    if current_user.totp_secret_sealed is None:
        secret = session.setdefault(SETUP_SECRET, mfa.new_secret())
        uri = mfa.provisioning_uri(secret, current_user.email)
        page["secret"] = secret
        page["qr"] = segno.make(uri, error="m").svg_data_uri(scale=5, dark="#16202c")
    return page
