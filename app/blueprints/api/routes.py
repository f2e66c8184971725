"""JSON API v1: bearer tokens, JSON errors, the OpenAPI document and a readable docs page."""

import functools

import flask
from flask import current_app, g, jsonify, render_template, request
from flask_smorest import Blueprint

from app.extensions import db
from app.models import Role, User
from app.security_events import security_event
from app.services.accounts import api_tokens
from app.services.errors import (
    DomainError,
    IdempotencyMismatch,
    ListingClosed,
    TradeConflict,
    ValidationFailed,
)

from .fields import camel
from .schemas import IndexSchema

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="CommunityLend's JSON API: accounts, loans, investing, payments and risk.",
)
# The human-readable reference: a plain blueprint, so the page is not itself in the contract.
pages = flask.Blueprint("api_pages", __name__, url_prefix="/api/v1")
BEARER = [{"bearerAuth": []}]
CONFLICTS = (IdempotencyMismatch, ListingClosed, TradeConflict)


def api_error(status: int, error: str, message: str, fields: dict | None = None):
    """The one error shape of this API."""
    return jsonify(error=error, message=message, fields=fields or {}), status


def bearer_required(*roles: Role):
    """A live bearer token of an active user (401), in one of `roles` when given (403)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user, secret = token_user()
            if user is None:
                return api_error(401, "unauthorized", "Send a valid token: Authorization: Bearer …")
            if roles and user.role not in roles:
                names = " or ".join(role.value for role in roles)
                return api_error(403, "forbidden", f"Only a {names} may do this.")
            g.api_user, g.api_token = user, secret
            return view(*args, **kwargs)

        return bp.doc(security=BEARER)(wrapped)

    return decorator


def token_user() -> tuple[User | None, str]:
    """The active user whose live token the request bears (both APIs), and the token."""
    kind, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if kind.lower() != "bearer" or not secret:
        return None, secret
    return api_tokens.user_for(db.session, secret), secret


def api_user() -> User:
    return g.api_user


class NotFound(Exception):
    """Missing, or not the caller's: the answer is the same 404, so ids cannot be probed."""


@bp.errorhandler(NotFound)
def not_found(error: NotFound):
    return api_error(404, "not_found", str(error))


def owned_or_404(model, object_id: int, owner_column: str, what: str):
    """The object if the API user owns it (admins see all); anyone else gets a 404."""
    user = api_user()
    found = db.session.get(model, object_id)
    if found is None:
        raise NotFound(f"No such {what}.")
    if user.role is not Role.ADMIN and getattr(found, owner_column) != user.id:
        security_event(
            "security.not_yours",
            user_id=user.id,
            entity_type=found.__tablename__,
            entity_id=object_id,
        )
        raise NotFound(f"No such {what}.")
    return found


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    """A rule said no: 422 with the fields it named, 409 when the state or key conflicts."""
    db.session.rollback()
    if isinstance(error, ValidationFailed):
        fields = {camel(name): message for name, message in error.errors.items()}
        return api_error(422, "validation_failed", "Some fields are not valid.", fields)
    if isinstance(error, CONFLICTS):
        return api_error(409, "conflict", error.message)
    fields = {camel(error.field): error.message} if error.field else {}
    return api_error(422, "rejected", error.message, fields)


@bp.route("/")
@bp.response(200, IndexSchema)
@bp.doc(summary="What this API is and where its parts are")
def index():
    return {
        "name": current_app.config["API_TITLE"],
        "version": current_app.config["API_VERSION"],
        "openapi": "/api/v1/openapi.json",
        "docs": "/api/v1/docs",
    }


@pages.get("/docs")
def docs():
    """The OpenAPI document as a readable page (server-rendered: no CDN, no inline script)."""
    spec = current_app.extensions["json_api"].spec.to_dict()
    return render_template("api/docs.html", spec=spec)
