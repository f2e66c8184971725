"""Accounts over the API: register, sign in for a token, sign out, the profile."""

from datetime import UTC, datetime

from flask import current_app, g, request

from app.extensions import db, get_key_ring, limiter
from app.models import Role
from app.services.accounts import accounts, api_tokens, mfa
from app.services.errors import DomainError

from .routes import api_error, api_user, bearer_required, bp
from .schemas import ErrorSchema, LoginSchema, ProfileSchema, RegisterSchema, TokenSchema


def client_info() -> accounts.ClientInfo:
    return accounts.ClientInfo(
        ip_address=request.remote_addr, user_agent=request.headers.get("User-Agent")
    )


def token_for(user) -> dict:
    secret, token = api_tokens.issue(
        db.session, user, days=current_app.config["API_TOKEN_DAYS"], name="api login"
    )
    return {"token": secret, "token_type": "Bearer", "expires_at": token.expires_at, "user": user}


@bp.route("/auth/register", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@bp.arguments(RegisterSchema)
@bp.response(201, TokenSchema)
@bp.doc(summary="Open a borrower or lender account; answers with a token")
def register(body: dict):
    user = accounts.register(
        db.session,
        email=body["email"],
        password=body["password"],
        role=Role(body["role"]),
        first_name=body["first_name"],
        last_name=body["last_name"],
        client=client_info(),
    )
    answer = token_for(user)
    db.session.commit()
    return answer


@bp.route("/auth/login", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@bp.arguments(LoginSchema)
@bp.response(200, TokenSchema)
@bp.alt_response(401, schema=ErrorSchema, description="Wrong email or password, or second step")
@bp.alt_response(403, schema=ErrorSchema, description="An admin without two-step sign-in")
@bp.doc(summary="Exchange email and password for a bearer token")
def login(body: dict):
    user, refusal = signed_in(body)
    if refusal:
        return api_error(*refusal)
    answer = token_for(user)
    db.session.commit()
    return answer


def signed_in(body: dict) -> tuple[object, tuple[int, str, str] | None]:
    """(the user, None) when email, password and any second step check out; else
    (None, (status, error, message)). Failed attempts are committed: they count (both APIs)."""
    try:
        user = accounts.authenticate(db.session, body["email"], body["password"], client_info())
    except DomainError as error:
        db.session.commit()  # the failed attempt stays in the audit trail
        return None, (401, "invalid_credentials", error.message)
    if user.role is Role.ADMIN and current_app.config["REQUIRE_ADMIN_MFA"]:
        if user.mfa_enabled_at is None:  # as on the website: no admin without a second factor
            db.session.commit()
            message = "Turn on two-step sign-in on the website."
            return None, (403, "second_factor_setup_required", message)
    if user.mfa_enabled_at is not None:
        problem = (
            mfa.check(db.session, user, body["otp"], get_key_ring(), datetime.now(UTC))
            if body.get("otp")
            else "Two-step sign-in is on: send otp, your app's code (or a recovery code)."
        )
        if problem:
            db.session.commit()  # the miss counts
            return None, (401, "second_factor_required", problem)
    return user, None


@bp.route("/auth/logout", methods=["POST"])
@bearer_required()
@bp.response(204)
@bp.doc(summary="Revoke the token this request carries")
def logout():
    api_tokens.revoke(db.session, g.api_token)
    db.session.commit()


@bp.route("/users/profile", methods=["GET"])
@bearer_required()
@bp.response(200, ProfileSchema)
@bp.doc(summary="The signed-in person's profile")
def profile_show():
    return api_user()


@bp.route("/users/profile", methods=["PUT"])
@bearer_required()
@bp.arguments(ProfileSchema)
@bp.response(200, ProfileSchema)
@bp.doc(summary="Change profile fields (send only those that change)")
def profile_update(changes: dict):
    if not changes:  # no body, or {}: a change of nothing is a mistake worth saying
        return api_error(422, "validation_failed", "Send at least one profile field to change.")
    user = accounts.update_profile(db.session, api_user(), changes, client_info())
    db.session.commit()
    return user
