"""Admin queues: applications (approve / decline), documents (verify / reject), people."""

from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from app.access import role_required
from app.extensions import db, get_policy
from app.htmx import hx_redirect, render
from app.models import (
    Document,
    Loan,
    LoanApproval,
    LoanStatus,
    Role,
    User,
    VerificationStatus,
)
from app.services.errors import DomainError, ValidationFailed
from app.services.lending import review, underwriting

from .routes import bp

PAGE_SIZE = 25


@bp.get("/applications")
@role_required(Role.ADMIN)
def application_index():
    """Accepted offers waiting for approval, oldest first."""
    loans = db.session.scalars(
        select(Loan).where(Loan.status == LoanStatus.PENDING_APPROVAL).order_by(Loan.updated_at)
    ).all()
    return render("admin/applications/index.html", loans=loans)


@bp.get("/applications/<int:loan_id>")
@role_required(Role.ADMIN)
def application_show(loan_id: int):
    """The application, its score and reasons, and the borrower's documents side by side."""
    loan = db.session.get(Loan, loan_id) or abort(404)
    return render("admin/applications/show.html", **_application_page(loan))


@bp.post("/applications/<int:loan_id>/approve")
@role_required(Role.ADMIN)
def application_approve(loan_id: int):
    """Approve: lists the loan, or waits for a second admin on large loans."""
    return _decide(
        loan_id,
        lambda: review.approve_application(
            db.session,
            loan_id,
            current_user.id,
            reason=request.form.get("reason") or None,
            policy=get_policy(),
        ),
    )


@bp.post("/applications/<int:loan_id>/decline")
@role_required(Role.ADMIN)
def application_decline(loan_id: int):
    """Decline with reasons (one per line)."""
    reasons = (request.form.get("reason") or "").splitlines()
    return _decide(
        loan_id,
        lambda: (
            review.decline_application(db.session, loan_id, current_user.id, reasons) and "declined"
        ),
    )


@bp.get("/documents")
@role_required(Role.ADMIN)
def document_queue():
    """Documents waiting for review, oldest first."""
    documents = db.session.execute(
        select(Document, User)
        .join(User, User.id == Document.user_id)
        .where(Document.status == VerificationStatus.PENDING)
        .order_by(Document.created_at)
    ).all()
    return render("admin/documents.html", documents=documents)


@bp.post("/documents/<int:document_id>/review")
@role_required(Role.ADMIN)
def document_review(document_id: int):
    """Verify a document, or reject it with a reason the owner sees."""
    try:
        review.review_document(
            db.session,
            document_id,
            current_user.id,
            verified=request.form.get("decision") == "verify",
            reason=request.form.get("reason"),
        )
    except (DomainError, ValidationFailed) as error:
        db.session.rollback()
        flash(_message(error), "error")
    else:
        db.session.commit()
        flash("Review saved.", "success")
    return hx_redirect(request.form.get("next") or url_for("admin.document_queue"))


@bp.get("/users")
@role_required(Role.ADMIN)
def user_index():
    """Search people by name or email (active search)."""
    query = (request.args.get("q") or "").strip()
    statement = select(User).order_by(User.created_at.desc()).limit(PAGE_SIZE)
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(
            or_(User.email.like(pattern), (User.first_name + " " + User.last_name).ilike(pattern))
        )
    users = db.session.scalars(statement).all()
    return render("admin/users/index.html", "user_rows", users=users, query=query)


@bp.get("/users/<int:user_id>")
@role_required(Role.ADMIN)
def user_show(user_id: int):
    """A person, their documents and the admin actions."""
    user = db.session.get(User, user_id) or abort(404)
    documents = db.session.scalars(
        select(Document).where(Document.user_id == user.id).order_by(Document.created_at.desc())
    ).all()
    loans = db.session.scalars(
        select(Loan).where(Loan.borrower_id == user.id).order_by(Loan.id)
    ).all()
    return render(
        "admin/users/show.html", user=user, documents=documents, roles=list(Role), loans=loans
    )


@bp.post("/users/<int:user_id>/<action>")
@role_required(Role.ADMIN)
def user_update(user_id: int, action: str):
    """verify | suspend | reactivate | role — each recorded in the activity log."""
    actions = {
        "verify": lambda: review.verify_identity(db.session, user_id, current_user.id),
        "suspend": lambda: review.suspend(
            db.session, user_id, current_user.id, request.form.get("reason", "")
        ),
        "reactivate": lambda: review.reactivate(db.session, user_id, current_user.id),
        "role": lambda: review.change_role(db.session, user_id, _role(), current_user.id),
    }
    if action not in actions:
        abort(404)
    try:
        actions[action]()
    except (DomainError, ValidationFailed) as error:
        db.session.rollback()
        flash(_message(error), "error")
    else:
        db.session.commit()
        flash("Saved.", "success")
    return hx_redirect(url_for("admin.user_show", user_id=user_id))


def _decide(loan_id: int, decision):
    try:
        outcome = decision()
    except (DomainError, ValidationFailed) as error:
        db.session.rollback()
        flash(_message(error), "error")
        return hx_redirect(url_for("admin.application_show", loan_id=loan_id))
    db.session.commit()
    flash(
        {
            "listed": "Approved: the loan is listed for lenders.",
            "waiting": "Approval recorded; a second admin must approve this large loan.",
            "declined": "Declined; the borrower sees your reasons.",
        }[outcome],
        "success",
    )
    return hx_redirect(url_for("admin.application_index"))


def _application_page(loan: Loan) -> dict:
    assessment = underwriting.latest_assessment(db.session, loan.id)
    approvals = db.session.execute(
        select(LoanApproval, User)
        .join(User, User.id == LoanApproval.admin_id)
        .where(LoanApproval.loan_id == loan.id)
    ).all()
    return {
        "loan": loan,
        "borrower": db.session.get(User, loan.borrower_id),
        "assessment": assessment,
        "documents": db.session.scalars(
            select(Document)
            .where(Document.user_id == loan.borrower_id)
            .order_by(Document.created_at.desc())
        ).all(),
        "approvals": approvals,
        "needs_two": get_policy().needs_second_approval(loan.amount),
    }


def _role() -> Role:
    try:
        return Role(request.form.get("role"))
    except ValueError as error:
        raise ValidationFailed({"role": "Choose borrower, lender or admin."}) from error


def _message(error: DomainError) -> str:
    return (
        "; ".join(error.errors.values()) if isinstance(error, ValidationFailed) else error.message
    )
