"""Sign-up, sign-in, sign-out, password and profile pages."""

import time
from dataclasses import asdict

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from app.access import SESSION_TOKEN_KEY, second_factor_fresh
from app.extensions import db, limiter
from app.forms import attach_errors
from app.htmx import hx_redirect, is_htmx, render
from app.keys import signing_keys
from app.links import safe_next
from app.models import Role
from app.services.accounts import accounts, identities, registration
from app.services.errors import DomainError, ValidationFailed
from app.services.platform import activity

from .forms import LoginForm, PasswordForm, ProfileForm, RegisterForm

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {
    Role.BORROWER: "borrower.dashboard",
    Role.LENDER: "lender.dashboard",
    Role.ADMIN: "admin.dashboard",
}
PENDING_USER, PENDING_SINCE = "mfa_pending_user", "mfa_pending_since"  # half signed in
OAUTH_LINK = "oauth_link"  # a provider account waiting for its owner to sign in here
CHECK_EMAIL = (
    "Check your email: we sent a link to finish opening your account (valid one day). "
    "If that address already has an account, the email says so."
)


@bp.get("/")
def home():
    """The landing page, or the signed-in user's dashboard."""
    if current_user.is_authenticated:
        return redirect(url_for(HOME_BY_ROLE[current_user.role]))
    return render_template("auth/home.html")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: _login_limit(), methods=["POST"])
def register():
    """Open a borrower or lender account: the same answer whether or not the email has one."""
    form = RegisterForm(role=request.args.get("role", Role.BORROWER.value))
    if form.validate_on_submit():
        try:
            registration.start(
                db.session,
                email=form.email.data,
                password=form.password.data,
                role=Role(form.role.data),
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                client=_client(),
            )
        except ValidationFailed as error:
            attach_errors(form, error)
        else:
            db.session.commit()
            flash(CHECK_EMAIL, "info")
            return hx_redirect(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render("auth/register.html", "register_form", form=form, status=status)


@bp.get("/register/confirm")
def register_confirm():
    """The emailed link: the account is opened and signed in (once)."""
    try:
        user = registration.confirm(
            db.session, request.args.get("token", ""), signing_keys("confirm-email"), _client()
        )
    except ValidationFailed as error:
        db.session.rollback()
        flash(error.errors["token"], "error")
        return redirect(url_for("auth.login"), 303)
    _sign_in(user)
    db.session.commit()
    flash("Welcome to CommunityLend. Complete your profile to get started.", "success")
    return redirect(url_for("auth.profile_show"), 303)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: _login_limit(), methods=["POST"])
def login():
    """Sign in with email and password."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(db.session, form.email.data, form.password.data, _client())
        except DomainError as error:
            db.session.commit()  # keep the failed-sign-in audit row
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            if user.mfa_enabled_at is not None:  # the password was right; now the code
                return _start_second_step(user)
            _sign_in(user)
            db.session.commit()
            return hx_redirect(_safe_next() or url_for(HOME_BY_ROLE[user.role]))
    status = 422 if form.is_submitted() else 200
    return render("auth/login.html", "login_form", form=form, status=status)


@bp.post("/logout")
@login_required
def logout():
    """End this sign-in for good: the server forgets the session, not just the browser."""
    accounts.end_session(db.session, session.get(SESSION_TOKEN_KEY))
    activity.record(db.session, "auth.signed_out", user_id=current_user.id, **asdict(_client()))
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return hx_redirect(url_for("auth.login"))


@bp.get("/account")
@login_required
def profile_show():
    """The signed-in user's profile."""
    return render("auth/profile.html", "profile_details", **_profile_page())


@bp.get("/account/profile/edit")
@login_required
def profile_edit():
    """The inline edit form for the profile."""
    form = ProfileForm(obj=current_user, employment_status=_employment_value())
    return render("auth/profile.html", "profile_form", **_profile_page(form))


@bp.post("/account/profile")
@login_required
def profile_update():
    """Save profile changes; invalid input comes back as the form with errors (422)."""
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            accounts.update_profile(db.session, current_user, form.changes(), _client())
        except ValidationFailed as error:
            attach_errors(form, error)
        else:
            db.session.commit()
            if not is_htmx():
                flash("Profile saved.", "success")
                return redirect(url_for("auth.profile_show"), 303)
            return render("auth/profile.html", "profile_details", **_profile_page(saved=True))
    return render("auth/profile.html", "profile_form", status=422, **_profile_page(form))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@second_factor_fresh
def password_edit():
    """Change the password; every other sign-in of this account ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                db.session,
                current_user,
                form.current_password.data,
                form.new_password.data,
                _client(),
                keep_token=session.get(SESSION_TOKEN_KEY),
            )
        except ValidationFailed as error:
            attach_errors(form, error)
        else:
            db.session.commit()
            flash("Password changed. Other devices have been signed out.", "success")
            return hx_redirect(url_for("auth.profile_show"))
    status = 422 if form.is_submitted() else 200
    return render("auth/password.html", "password_form", form=form, status=status)


def _profile_page(form: ProfileForm | None = None, saved: bool = False) -> dict:
    return {"user": current_user, "form": form, "saved": saved}


def _employment_value() -> str:
    status = current_user.employment_status
    return status.value if status else ""


def _sign_in(user) -> None:
    pending_link = session.get(OAUTH_LINK)
    session.clear()  # a fresh session on every sign-in (no fixation)
    token = accounts.start_session(db.session, user, _client())
    login_user(user)
    session[SESSION_TOKEN_KEY] = token
    session.permanent = True
    if pending_link and pending_link["email"] == user.email:  # they proved it is theirs
        provider = pending_link["provider"]
        identities.link(db.session, user, provider, pending_link["subject"], user.email)
        name = identities.PROVIDER_NAMES[provider]
        flash(f"{name} is linked: next time, sign in with it.", "success")


def _start_second_step(user) -> Response:
    """After the password: remember who is half signed in (five minutes) and ask for a code."""
    target, pending_link = _safe_next(), session.get(OAUTH_LINK)
    session.clear()
    session[PENDING_USER], session[PENDING_SINCE] = user.id, time.time()
    if pending_link:
        session[OAUTH_LINK] = pending_link
    return hx_redirect(url_for("auth.login_second_step", next=target))


def _client() -> accounts.ClientInfo:
    return accounts.ClientInfo(
        ip_address=request.remote_addr, user_agent=request.headers.get("User-Agent")
    )


def _safe_next() -> str | None:
    return safe_next(request.args.get("next"))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]
