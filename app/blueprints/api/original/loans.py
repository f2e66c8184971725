"""The original design's loans: list, one loan, and apply (twins in v1's routes_loans)."""

from datetime import date

from flask import g
from marshmallow import RAISE, Schema, fields, validate

from app.extensions import db, get_policy
from app.models import Loan, LoanPurpose, Role, User, VerificationStatus
from app.services.lending import marketplace, origination, typical_facts, underwriting
from app.services.servicing import statements

from ..routes_loans import loan_page, visible_loan
from ..schemas import LoanQuerySchema
from . import MoneyNumber, answer, bp, documented_errors, refused, signed_in_required

IGNORED_RATE = (
    "interestRate was ignored: the rate is set by our risk model from the application, "
    "once it is scored (a few seconds; GET /api/loans/{id} shows it)."
)


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
@signed_in_required()
@bp.arguments(LoanQuerySchema, location="query", unknown=RAISE)
@bp.response(200, OriginalLoanPageSchema)
@documented_errors(401, 422)
@bp.doc(summary="Loans you may see, filtered, sorted and paged (twin: GET /api/v1/loans)")
def loans_index(query: dict):
    loans, pagination = loan_page(g.api_user, query)
    page = pagination["pagination"]
    ids = [loan.id for loan in loans]
    scores = underwriting.latest_scores(db.session, ids)
    totals = statements.total_repayments(db.session, loans, date.today())
    return answer(
        loans=[loan_view(loan, scores.get(loan.id), totals[loan.id]) for loan in loans],
        pagination={
            "page": page["page"],
            "limit": page["limit"],
            "total": page["total"],
            "totalPages": page["total_pages"],
        },
    )


@bp.route("/loans/<int:loan_id>", methods=["GET"])
@signed_in_required()
@bp.response(200, OriginalLoanAnswerSchema)
@documented_errors(401, 404)
@bp.doc(summary="One loan and its borrower as you may see them (twin: GET /api/v1/loans/<id>)")
def loans_show(loan_id: int):
    loan = visible_loan(g.api_user, loan_id)
    if loan is None:
        return refused(404, "No such loan.")
    return answer(loan={**one_loan_view(loan), "borrower": _borrower(loan, g.api_user)})


def one_loan_view(loan: Loan) -> dict:
    assessment = underwriting.latest_assessment(db.session, loan.id)
    total = statements.total_repayment(db.session, loan, date.today())
    return loan_view(loan, assessment.risk_score if assessment else None, total)


def loan_view(loan: Loan, score: int | None, total) -> dict:
    return {
        "id": loan.id,
        "amount": loan.amount,
        "interestRate": loan.interest_rate,
        "termMonths": loan.term_months,
        "purpose": loan.purpose.value,
        "status": loan.status.value,
        "monthlyPayment": loan.monthly_payment,
        "totalPayment": total,
        "riskGrade": loan.risk_grade,
        "mlScore": score,
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


class OriginalLoanRequestSchema(Schema):
    amount = MoneyNumber(required=True)
    termMonths = fields.Integer(required=True)  # noqa: N815 - the design's names
    purpose = fields.String(
        required=True, validate=validate.OneOf([purpose.value for purpose in LoanPurpose])
    )
    collateralDescription = fields.String(validate=validate.Length(max=1000))  # noqa: N815
    interestRate = fields.Raw(  # noqa: N815
        metadata={"description": "accepted and ignored: the model sets the rate"}
    )


class OriginalLoanCreatedSchema(OriginalLoanAnswerSchema):
    assumed = fields.List(fields.String(), metadata={"description": "facts taken as typical"})
    notice = fields.String(metadata={"description": "why interestRate was ignored, if sent"})


@bp.route("/loans/create", methods=["POST"])
@signed_in_required(Role.BORROWER)
@bp.arguments(OriginalLoanRequestSchema)
@bp.response(201, OriginalLoanCreatedSchema)
@documented_errors(401, 403, 422)
@bp.doc(summary="Apply for a loan; the rate comes from our risk model (twin: POST /api/v1/loans)")
def loans_create(body: dict):
    borrower = g.api_user
    if not borrower.profile_complete:
        return refused(403, "Complete your profile before applying.")
    facts, assumed = typical_facts.credit_facts(borrower.annual_income, borrower.credit_score)
    loan = origination.submit_application(
        db.session,
        borrower.id,
        amount=body["amount"],
        term_months=body["termMonths"],
        purpose=LoanPurpose(body["purpose"]),
        credit_facts=facts,
        title=None,
        description=_description(assumed),
        collateral_description=(body.get("collateralDescription") or "").strip() or None,
        policy=get_policy(),
    )
    db.session.commit()
    extra = {"notice": IGNORED_RATE} if "interestRate" in body else {}
    return answer(201, loan={**one_loan_view(loan), "borrower": _borrower(loan, borrower)},
                  assumed=assumed, **extra)  # fmt: skip


def _description(assumed: list[str]) -> str:
    names = ", ".join(name.replace("_", " ") for name in assumed)
    return f"Applied through the original API; assumed at typical values: {names}."
