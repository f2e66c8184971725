"""The original design's API, path for path: its `/api/...` paths, its `{success, ...}`
envelopes and its money as JSON numbers, on the same services and rules as `/api/v1`.

Every answer is `{"success": true, ...}` or `{"success": false, "error": "..."}` with the
HTTP status `/api/v1` would give. Money is a number with two decimals, written exactly from
the Decimal (simplejson), never through a float. docs/api.md maps each path to its twin.
"""

import functools
from datetime import date, datetime
from decimal import Decimal

import simplejson
from flask import Response, g
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields

from app.extensions import db
from app.models import Role
from app.services.errors import DomainError

from ..routes import BEARER, token_user

bp = Blueprint(
    "api_original",
    __name__,
    url_prefix="/api",
    description="The original design's contract: its paths and {success, ...} envelopes; "
    "money as JSON numbers. The same rules as /api/v1.",
)


def answer(status: int = 200, **body) -> Response:
    """{"success": true, ...}, money as exact JSON numbers."""
    text = simplejson.dumps({"success": True, **body}, use_decimal=True, default=_plain)
    return Response(text, status, mimetype="application/json")


def refused(status: int, error: str) -> Response:
    return Response(simplejson.dumps({"success": False, "error": error}), status,
                    mimetype="application/json")  # fmt: skip


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value.value  # enums


def signed_in_required(*roles: Role):
    """A live bearer token (the one `/api/v1/auth/login` and `/api/auth/login` give), of one
    of `roles` when they are given."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user, _ = token_user()
            if user is None:
                return refused(401, "Send a valid token: Authorization: Bearer …")
            if roles and user.role not in roles:
                names = " or ".join(role.value for role in roles)
                return refused(403, f"Only a {names} may do this.")
            g.api_user = user
            return view(*args, **kwargs)

        return bp.doc(security=BEARER)(wrapped)

    return decorator


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    db.session.rollback()
    return refused(422, error.message)


class OriginalErrorSchema(Schema):
    success = fields.Boolean(required=True, metadata={"example": False})
    error = fields.String(required=True)


DEFAULT_ERROR = {
    "description": "Any other error",
    "content": {"application/json": {"schema": OriginalErrorSchema}},
}


def documented_errors(*statuses: int):
    """This API's error shape for `statuses`, in place of /api/v1's (smorest documents a
    422 for every operation that reads arguments)."""

    def decorator(view):
        for status in statuses:
            view = bp.alt_response(status, schema=OriginalErrorSchema)(view)
        return bp.doc(responses={"default": DEFAULT_ERROR})(view)  # any other: a 400, say

    return decorator


class MoneyNumber(fields.Field):
    """Money as the design sends it: a JSON number (or a numeric string), taken exactly.

    A number of up to 15 significant digits reads back from its shortest form (`repr`) as
    typed, so 1500.1 is 1500.10, never 1500.0999...; more than two decimals is refused, as
    are NaN, infinities and true/false.
    """

    def __init__(self, high: Decimal = Decimal("999999999999.99"), **kwargs):
        self.high = high
        kwargs.setdefault("metadata", {}).setdefault("example", 1500.00)
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError("Send an amount as a number, like 1500.00.")
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except ArithmeticError as error:
            raise ValidationError("Send an amount as a number, like 1500.00.") from error
        if not number.is_finite() or number.as_tuple().exponent < -2:
            raise ValidationError("Send an amount in dollars and cents, like 1500.00.")
        if number <= 0 or number > self.high:
            raise ValidationError(f"Must be more than 0 and at most {self.high}.")
        return number.quantize(Decimal("0.01"))

    def _serialize(self, value, attr, obj, **kwargs):
        return value


from . import accounts, loans, ml, money  # noqa: E402, F401 - their routes join `bp`
