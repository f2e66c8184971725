"""Loans over the API: apply, list with filters and pages, one loan."""

import math
from datetime import date

from marshmallow import RAISE
from sqlalchemy import func, or_, select

from app.extensions import db, get_policy
from app.models import (
    CREDIT_FACTS,
    Investment,
    Loan,
    LoanPurpose,
    LoanStatus,
    Role,
    User,
)
from app.services.lending import marketplace, origination, underwriting
from app.services.servicing import statements

from .routes import api_error, api_user, bearer_required, bp
from .schemas import (
    LoanApplicationSchema,
    LoanPageSchema,
    LoanQuerySchema,
    LoanSchema,
    OptionalIdempotencyHeaderSchema,
)

SORTS = {"amount": Loan.amount, "interestRate": Loan.interest_rate, "createdAt": Loan.created_at}


@bp.route("/loans", methods=["POST"])
@bearer_required(Role.BORROWER)
@bp.arguments(OptionalIdempotencyHeaderSchema, location="headers")
@bp.arguments(LoanApplicationSchema)
@bp.response(201, LoanSchema)
@bp.doc(
    summary="Apply for a loan; the risk score follows as a background job",
    description="With an Idempotency-Key, the same application sent again under it answers "
    "with the first one's loan; a different application under it is refused (409).",
)
def loan_create(headers: dict, body: dict):
    borrower = api_user()
    if not borrower.profile_complete:
        return api_error(403, "profile_incomplete", "Complete your profile before applying.")
    loan = origination.submit_application(
        db.session,
        borrower.id,
        amount=body["amount"],
        term_months=body["term_months"],
        purpose=LoanPurpose(body["purpose"]),
        credit_facts={name: body[name] for name in CREDIT_FACTS},
        title=body.get("title") or None,
        description=body.get("description") or None,
        policy=get_policy(),
        idempotency_key=headers["key"],
    )
    db.session.commit()
    return loan_view(loan, borrower)


@bp.route("/loans", methods=["GET"])
@bearer_required()
@bp.arguments(LoanQuerySchema, location="query", unknown=RAISE)
@bp.response(200, LoanPageSchema)
@bp.doc(
    summary="Loans you may see: your own (borrower), listings and your notes (lender), all (admin)"
)
def loan_index(query: dict):
    user = api_user()
    loans, pagination = loan_page(user, query)
    return {"loans": [loan_view(loan, user, detail=False) for loan in loans], **pagination}


def loan_page(user: User, query: dict) -> tuple[list[Loan], dict]:
    """The page of loans `user` may see that `query` asks for, and its pagination (both APIs)."""
    statement = _filtered(select(Loan).where(visible_to(user)), query)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    column = SORTS[query["sort_by"]]
    order = (
        column.asc().nulls_last() if query["sort_order"] == "asc" else column.desc().nulls_last()
    )
    page, limit = query["page"], query["limit"]
    loans = db.session.scalars(
        statement.order_by(order, Loan.id.desc()).offset((page - 1) * limit).limit(limit)
    ).all()
    pages = max(math.ceil(total / limit), 1)
    return loans, {
        "pagination": {"page": page, "limit": limit, "total": total, "total_pages": pages}
    }


def _filtered(statement, query: dict):
    if "status" in query:
        statement = statement.where(Loan.status == LoanStatus(query["status"]))
    if "min_amount" in query:
        statement = statement.where(Loan.amount >= query["min_amount"])
    if "max_amount" in query:
        statement = statement.where(Loan.amount <= query["max_amount"])
    if "risk_grade" in query:
        grade = query["risk_grade"]  # "B" is every B grade, "B3" one of them
        statement = statement.where(
            Loan.risk_grade == grade if len(grade) == 2 else Loan.risk_grade.startswith(grade)
        )
    return statement


@bp.route("/loans/<int:loan_id>", methods=["GET"])
@bearer_required()
@bp.response(200, LoanSchema)
@bp.alt_response(404, description="No such loan, or not one you may see")
@bp.doc(summary="One loan, with the borrower summary a lender may see")
def loan_show(loan_id: int):
    user = api_user()
    loan = visible_loan(user, loan_id)
    if loan is None:
        return api_error(404, "not_found", "No such loan.")
    return loan_view(loan, user)


def visible_loan(user: User, loan_id: int) -> Loan | None:
    return db.session.scalar(select(Loan).where(Loan.id == loan_id, visible_to(user)))


def visible_to(user: User):
    """Which loans `user` may read: the same rule for lists and single loans."""
    if user.role is Role.ADMIN:
        return Loan.id.is_not(None)
    if user.role is Role.BORROWER:
        return Loan.borrower_id == user.id
    holds = select(Investment.loan_id).where(Investment.lender_id == user.id)
    return or_(Loan.status == LoanStatus.LISTED, Loan.id.in_(holds))


def loan_view(loan: Loan, viewer: User, detail: bool = True) -> dict:
    """The loan as the API shows it; exact credit facts only ever reach their borrower."""
    assessment = underwriting.latest_assessment(db.session, loan.id) if detail else None
    return {
        **{name: getattr(loan, name) for name in _LOAN_FIELDS},
        "risk_score": assessment.risk_score if assessment else None,
        "percent_funded": loan.percent_funded,
        "total_payment": statements.total_repayment(db.session, loan, date.today())
        if detail
        else None,
        "borrower": marketplace.lender_view(db.session, loan) if detail else None,
    }


_LOAN_FIELDS = (
    "id",
    "status",
    "servicing_status",
    "modified",
    "amount",
    "requested_amount",
    "term_months",
    "purpose",
    "title",
    "risk_grade",
    "interest_rate",
    "apr",
    "origination_fee",
    "monthly_payment",
    "funded_amount",
    "funding_deadline",
    "issued_at",
    "created_at",
    "decision_reasons",
)
