"""The original design's accounts: register, sign in, and the profile (twins in v1's
routes_accounts, whose rules these call)."""

from flask import current_app, g
from marshmallow import Schema, fields, validate

from app.extensions import db, limiter
from app.models import EmploymentStatus, Role, User
from app.services.accounts import accounts

from ..routes_accounts import client_info, signed_in, token_for
from ..schemas import LoginSchema
from . import MoneyNumber, answer, bp, documented_errors, refused, signed_in_required


class AddressSchema(Schema):
    street = fields.String(allow_none=True, validate=validate.Length(max=200))
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    state = fields.String(allow_none=True, validate=validate.Length(max=100))
    zipCode = fields.String(allow_none=True, validate=validate.Length(max=20))  # noqa: N815


class OriginalUserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    firstName = fields.String()  # noqa: N815 - the design's names
    lastName = fields.String()  # noqa: N815
    phone = fields.String(allow_none=True)
    dateOfBirth = fields.Date(allow_none=True)  # noqa: N815
    role = fields.String()
    verificationStatus = fields.String()  # noqa: N815
    creditScore = fields.Integer(allow_none=True)  # noqa: N815
    annualIncome = fields.Decimal(as_string=False, places=2, allow_none=True)  # noqa: N815
    employmentStatus = fields.String(allow_none=True)  # noqa: N815
    address = fields.Nested(AddressSchema)
    profileCompleted = fields.Boolean()  # noqa: N815


class OriginalTokenSchema(Schema):
    success = fields.Boolean()
    token = fields.String()
    user = fields.Nested(OriginalUserSchema)


class OriginalProfileSchema(Schema):
    success = fields.Boolean()
    user = fields.Nested(OriginalUserSchema)


class OriginalRegisterSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    firstName = fields.String(required=True, validate=validate.Length(min=1, max=100))  # noqa: N815
    lastName = fields.String(required=True, validate=validate.Length(min=1, max=100))  # noqa: N815
    phone = fields.String(validate=validate.Length(max=32))
    dateOfBirth = fields.Date()  # noqa: N815
    role = fields.String(
        load_default="borrower",
        validate=validate.OneOf(["borrower", "lender"]),
        metadata={"description": "borrower when absent"},
    )


class OriginalProfileUpdateSchema(Schema):
    firstName = fields.String(validate=validate.Length(min=1, max=100))  # noqa: N815
    lastName = fields.String(validate=validate.Length(min=1, max=100))  # noqa: N815
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    dateOfBirth = fields.Date(allow_none=True)  # noqa: N815
    annualIncome = MoneyNumber(allow_none=True)  # noqa: N815
    employmentStatus = fields.String(  # noqa: N815
        allow_none=True, validate=validate.OneOf([status.value for status in EmploymentStatus])
    )
    address = fields.Nested(AddressSchema)


# The design's names for our profile fields (the address is a nested object there).
PROFILE_NAMES = {
    "firstName": "first_name",
    "lastName": "last_name",
    "phone": "phone",
    "dateOfBirth": "date_of_birth",
    "annualIncome": "annual_income",
    "employmentStatus": "employment_status",
}
ADDRESS_NAMES = {
    "street": "address_line1",
    "city": "city",
    "state": "state",
    "zipCode": "postal_code",
}


@bp.route("/auth/register", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@bp.arguments(OriginalRegisterSchema)
@bp.response(201, OriginalTokenSchema)
@documented_errors(422, 429)
@bp.doc(summary="Open an account (a borrower unless role says lender) and get a token "
        "(twin: POST /api/v1/auth/register)")  # fmt: skip
def auth_register(body: dict):
    user = accounts.register(
        db.session,
        email=body["email"],
        password=body["password"],
        role=Role(body["role"]),
        first_name=body["firstName"],
        last_name=body["lastName"],
        client=client_info(),
    )
    extras = {name: body[name] for name in ("phone", "dateOfBirth") if name in body}
    if extras:
        accounts.update_profile(db.session, user, _profile_changes(extras), client_info())
    token = token_for(user)
    db.session.commit()
    return answer(201, token=token["token"], user=user_view(user))


@bp.route("/auth/login", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@bp.arguments(LoginSchema)
@bp.response(200, OriginalTokenSchema)
@documented_errors(401, 403, 422)
@bp.doc(summary="Email and password (and otp when two-step is on) for a bearer token "
        "(twin: POST /api/v1/auth/login)")  # fmt: skip
def auth_login(body: dict):
    user, refusal = signed_in(body)
    if refusal:
        return refused(refusal[0], refusal[2])
    token = token_for(user)
    db.session.commit()
    return answer(token=token["token"], user=user_view(user))


@bp.route("/users/profile", methods=["GET"])
@signed_in_required()
@bp.response(200, OriginalProfileSchema)
@documented_errors(401)
@bp.doc(summary="The signed-in person's profile (twin: GET /api/v1/users/profile)")
def users_profile():
    return answer(user=user_view(g.api_user))


@bp.route("/users/profile", methods=["PUT"])
@signed_in_required()
@bp.arguments(OriginalProfileUpdateSchema)
@bp.response(200, OriginalProfileSchema)
@documented_errors(401, 422)
@bp.doc(summary="Change profile fields, the address as {street, city, state, zipCode} "
        "(twin: PUT /api/v1/users/profile)")  # fmt: skip
def users_profile_update(body: dict):
    changes = _profile_changes(body)
    if not changes:
        return refused(422, "Send at least one profile field to change.")
    accounts.update_profile(db.session, g.api_user, changes, client_info())
    db.session.commit()
    return answer(user=user_view(g.api_user))


def _profile_changes(body: dict) -> dict:
    changes = {PROFILE_NAMES[name]: value for name, value in body.items() if name in PROFILE_NAMES}
    if changes.get("employment_status"):
        changes["employment_status"] = EmploymentStatus(changes["employment_status"])
    address = body.get("address") or {}
    changes.update({ADDRESS_NAMES[name]: value for name, value in address.items()})
    return changes


def user_view(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "phone": user.phone,
        "dateOfBirth": user.date_of_birth,
        "role": user.role.value,
        "verificationStatus": user.identity_status.value,
        "creditScore": user.credit_score,
        "annualIncome": user.annual_income,
        "employmentStatus": user.employment_status.value if user.employment_status else None,
        "address": {
            "street": user.address_line1,
            "city": user.city,
            "state": user.state,
            "zipCode": user.postal_code,
        },
        "profileCompleted": user.profile_complete,
    }
