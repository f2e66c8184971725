"""The original design's API, path for path: its `/api/...` paths, its `{success, ...}`
envelopes and its money as JSON numbers, on the same services and rules as `/api/v1`.

Every answer is `{"success": true, ...}` or `{"success": false, "error": "..."}` with the
HTTP status `/api/v1` would give. Money is a number with two decimals, written exactly from
the Decimal (simplejson), never through a float. docs/api.md maps each path to its twin.
"""

import functools
from datetime import date, datetime

import simplejson
from flask import Response, current_app, g
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields

from app.extensions import db, limiter
from app.models import Loan, Role, User, VerificationStatus
from app.services.errors import DomainError
from app.services.lending import marketplace, underwriting
from app.services.servicing import statements

from .routes import BEARER, token_user
from .routes_accounts import signed_in, token_for
from .routes_loans import loan_page, visible_loan
from .schemas import LoanQuerySchema, LoginSchema

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


def signed_in_required(view):
    """A live bearer token (the one `/api/v1/auth/login` and `/api/auth/login` give)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        user, _ = token_user()
        if user is None:
            return refused(401, "Send a valid token: Authorization: Bearer …")
        g.api_user = user
        return view(*args, **kwargs)

    return bp.doc(security=BEARER)(wrapped)


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


class OriginalLoanSchema(Schema):
    id = fields.Integer()
    amount = fields.Decimal(as_string=False, places=2)
    interestRate = fields.Decimal(as_string=False, allow_none=True)  # noqa: N815 - its names
    termMonths = fields.Integer()  # noqa: N815
    purpose = fields.String()
    status = fields.String()
    monthlyPayment = fields.Decimal(as_string=False, places=2, allow_none=True)  # noqa: N815
    totalPayment = fields.Decimal(as_string=False, places=2, allow_none=True)  # noqa: N815
    riskGrade = fields.String(allow_none=True)  # noqa: N815
    mlScore = fields.Integer(allow_none=True, metadata={"description": "0-1000, higher is safer"})  # noqa: N815


class OriginalBorrowerSchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "null for a lender"})
    firstName = fields.String()  # noqa: N815
    lastName = fields.String(metadata={"description": "an initial for a lender"})  # noqa: N815
    creditScore = fields.Raw(metadata={"description": "a number; a band for a lender"})  # noqa: N815
    verificationStatus = fields.String()  # noqa: N815


class OriginalLoanDetailSchema(OriginalLoanSchema):
    borrower = fields.Nested(OriginalBorrowerSchema)


class OriginalPaginationSchema(Schema):
    page = fields.Integer()
    limit = fields.Integer()
    total = fields.Integer()
    totalPages = fields.Integer()  # noqa: N815


class OriginalLoanPageSchema(Schema):
    success = fields.Boolean()
    loans = fields.List(fields.Nested(OriginalLoanSchema))
    pagination = fields.Nested(OriginalPaginationSchema)


class OriginalLoanAnswerSchema(Schema):
    success = fields.Boolean()
    loan = fields.Nested(OriginalLoanDetailSchema)


@bp.route("/loans", methods=["GET"])
@signed_in_required
@bp.arguments(LoanQuerySchema, location="query", unknown=RAISE)
@bp.response(200, OriginalLoanPageSchema)
@documented_errors(401, 422)
@bp.doc(summary="Loans you may see, filtered, sorted and paged (twin: GET /api/v1/loans)")
def loans_index(query: dict):
    loans, pagination = loan_page(g.api_user, query)
    page = pagination["pagination"]
    return answer(
        loans=[_loan(loan) for loan in loans],
        pagination={
            "page": page["page"],
            "limit": page["limit"],
            "total": page["total"],
            "totalPages": page["total_pages"],
        },
    )


@bp.route("/loans/<int:loan_id>", methods=["GET"])
@signed_in_required
@bp.response(200, OriginalLoanAnswerSchema)
@documented_errors(401, 404)
@bp.doc(summary="One loan and its borrower as you may see them (twin: GET /api/v1/loans/<id>)")
def loans_show(loan_id: int):
    loan = visible_loan(g.api_user, loan_id)
    if loan is None:
        return refused(404, "No such loan.")
    return answer(loan={**_loan(loan), "borrower": _borrower(loan, g.api_user)})


def _loan(loan: Loan) -> dict:
    assessment = underwriting.latest_assessment(db.session, loan.id)
    return {
        "id": loan.id,
        "amount": loan.amount,
        "interestRate": loan.interest_rate,
        "termMonths": loan.term_months,
        "purpose": loan.purpose.value,
        "status": loan.status.value,
        "monthlyPayment": loan.monthly_payment,
        "totalPayment": statements.total_repayment(db.session, loan, date.today()),
        "riskGrade": loan.risk_grade,
        "mlScore": assessment.risk_score if assessment else None,
    }


def _borrower(loan: Loan, viewer: User) -> dict:
    """The borrower's own loan, or an admin: who they are. A lender: a first name, an initial
    and a score band, as on the listing page; never an id to follow or an exact score."""
    borrower = db.session.get(User, loan.borrower_id)
    verified = borrower.identity_status is VerificationStatus.VERIFIED
    if viewer.role is Role.ADMIN or viewer.id == borrower.id:
        return {
            "id": borrower.id,
            "firstName": borrower.first_name,
            "lastName": borrower.last_name,
            "creditScore": loan.credit_score,
            "verificationStatus": borrower.identity_status.value,
        }
    return {
        "id": None,
        "firstName": borrower.first_name,
        "lastName": f"{borrower.last_name[:1]}.",
        "creditScore": marketplace.score_band(loan.credit_score),
        "verificationStatus": "verified" if verified else "unverified",
    }


class OriginalUserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    firstName = fields.String()  # noqa: N815
    lastName = fields.String()  # noqa: N815
    phone = fields.String(allow_none=True)
    role = fields.String()
    verificationStatus = fields.String()  # noqa: N815
    creditScore = fields.Integer(allow_none=True)  # noqa: N815
    annualIncome = fields.Decimal(as_string=False, places=2, allow_none=True)  # noqa: N815
    profileCompleted = fields.Boolean()  # noqa: N815


class OriginalTokenSchema(Schema):
    success = fields.Boolean()
    token = fields.String()
    user = fields.Nested(OriginalUserSchema)


class OriginalProfileSchema(Schema):
    success = fields.Boolean()
    user = fields.Nested(OriginalUserSchema)


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
    return answer(token=token["token"], user=_user(user))


@bp.route("/users/profile", methods=["GET"])
@signed_in_required
@bp.response(200, OriginalProfileSchema)
@documented_errors(401)
@bp.doc(summary="The signed-in person's profile (twin: GET /api/v1/users/profile)")
def users_profile():
    return answer(user=_user(g.api_user))


def _user(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "phone": user.phone,
        "role": user.role.value,
        "verificationStatus": user.identity_status.value,
        "creditScore": user.credit_score,
        "annualIncome": user.annual_income,
        "profileCompleted": user.profile_complete,
    }
