"""Admin review queues: applications (approve / decline) and documents (verify / reject)."""

from functools import partial

from flask import Response, flash, url_for
from flask_login import current_user

from app.access import role_required, second_factor_fresh
from app.confirmation import ask, confirmed, rehearse
from app.extensions import db, get_policy
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.models import Document, Loan, Role, User
from app.security_events import record_viewing
from app.services.accounts import documents as user_documents
from app.services.accounts import verification
from app.services.errors import DomainError
from app.services.lending import review, underwriting

from . import confirmations
from .forms import ApproveForm, DeclineForm, DocumentReviewForm
from .routes import bp

APPLICATION = "admin/applications/show.html"
DOCUMENTS = "admin/documents.html"
OUTCOMES = {
    "listed": "Approved: the loan is listed for lenders.",
    "waiting": "Approval recorded; a second admin must approve this large loan.",
    "declined": "Declined; the borrower sees your reasons.",
}


@bp.get("/applications")
@role_required(Role.ADMIN)
def application_index():
    """Accepted offers waiting for approval, oldest first."""
    return render("admin/applications/index.html", loans=review.approval_queue(db.session))


@bp.get("/applications/<int:loan_id>")
@role_required(Role.ADMIN)
def application_show(loan_id: int):
    """The application, its score and reasons, and the borrower's documents side by side
    (each view of a borrower's details is logged)."""
    loan = db.get_or_404(Loan, loan_id)
    record_viewing("admin.viewed_application", loan, borrower_id=loan.borrower_id)
    return render(APPLICATION, **_application_page(loan))


@bp.post("/applications/<int:loan_id>/approve")
@role_required(Role.ADMIN)
@second_factor_fresh
def application_approve(loan_id: int):
    """Approve: lists the loan, or waits for a second admin on large loans."""
    loan = db.get_or_404(Loan, loan_id)
    form = ApproveForm()
    if form.validate_on_submit():
        approve = partial(_approve, loan, form)
        try:
            if not confirmed():
                rehearse(approve)  # a refusal comes before the question, not after it
                return ask(_approval_step(loan), url_for("admin.application_show", loan_id=loan.id))
            outcome = approve()
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error)
        else:
            return _decided(outcome)
    return render(
        APPLICATION, "decision_forms", status=422, **_application_page(loan, approve=form)
    )


@bp.post("/applications/<int:loan_id>/decline")
@role_required(Role.ADMIN)
def application_decline(loan_id: int):
    """Decline with reasons (one per line)."""
    loan = db.get_or_404(Loan, loan_id)
    form = DeclineForm()
    if form.validate_on_submit():
        decline = partial(
            review.decline_application, db.session, loan.id, current_user.id, _reasons(form)
        )
        try:
            if not confirmed():
                rehearse(decline)
                step = confirmations.decline(loan, _reasons(form))
                return ask(step, url_for("admin.application_show", loan_id=loan.id))
            decline()
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error)
        else:
            return _decided("declined")
    return render(
        APPLICATION, "decision_forms", status=422, **_application_page(loan, decline=form)
    )


@bp.get("/documents")
@role_required(Role.ADMIN)
def document_queue():
    """Documents waiting for review, oldest first."""
    return render(DOCUMENTS, **_documents_page())


@bp.post("/documents/<int:document_id>/review")
@role_required(Role.ADMIN)
def document_review(document_id: int):
    """Verify a document, or reject it with a reason the owner sees."""
    document = db.get_or_404(Document, document_id)
    form = DocumentReviewForm.for_document(document)
    loan = _origin_loan(document, form)
    if form.validate_on_submit():
        try:
            review.review_document(
                db.session,
                document.id,
                current_user.id,
                verified=form.verified,
                reason=form.reason.data,
            )
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error, "reason")
        else:
            db.session.commit()
            flash("Review saved.", "success")
            return hx_redirect(_review_origin_url(loan))
    return _review_refused(document, form, loan)


def _approve(loan: Loan, form: ApproveForm) -> str:
    return review.approve_application(
        db.session,
        loan.id,
        current_user.id,
        reason=form.reason.data or None,
        override_reason=form.override_reason.data or None,
        policy=get_policy(),
    )


def _approval_step(loan: Loan):
    approvals = sum(1 for approval in loan.approvals if approval.approved)
    borrower = db.session.get(User, loan.borrower_id)
    gaps = verification.listing_gaps(db.session, borrower)
    needed = review.approvals_needed(gaps, loan.amount, get_policy())
    return confirmations.approval(loan, borrower, approvals, needed, gaps, get_policy())


def _reasons(form: DeclineForm) -> list[str]:
    return [line.strip() for line in form.reason.data.splitlines() if line.strip()]


def _decided(outcome: str) -> Response:
    db.session.commit()
    flash(OUTCOMES[outcome], "success")
    return hx_redirect(url_for("admin.application_index"))


def _application_page(
    loan: Loan,
    approve: ApproveForm | None = None,
    decline: DeclineForm | None = None,
    reviews: dict[int, DocumentReviewForm] | None = None,
) -> dict:
    documents = user_documents.of_user(db.session, loan.borrower_id)
    borrower = db.session.get(User, loan.borrower_id)
    return {
        "loan": loan,
        "borrower": borrower,
        "unverified": verification.listing_gaps(db.session, borrower),
        "assessment": underwriting.latest_assessment(db.session, loan.id),
        "documents": documents,
        "reviews": _review_forms(documents, reviews, loan_id=loan.id),
        "approvals": review.decisions(db.session, loan.id),
        "needs_two": get_policy().needs_second_approval(loan.amount),
        "approve": approve or ApproveForm(formdata=None),
        "decline": decline or DeclineForm(formdata=None),
    }


def _documents_page(reviews: dict[int, DocumentReviewForm] | None = None) -> dict:
    documents = review.document_queue(db.session)
    return {
        "documents": documents,
        "reviews": _review_forms([d for d, _ in documents], reviews),
    }


def _review_forms(documents, submitted, loan_id: int | None = None) -> dict:
    """One review form per document: the submitted one where there is one, else a fresh one."""
    fresh = {
        d.id: DocumentReviewForm.for_document(d, formdata=None, loan_id=loan_id) for d in documents
    }
    return fresh | (submitted or {})


def _origin_loan(document: Document, form: DocumentReviewForm) -> Loan | None:
    """The application page the review came from, if it was that borrower's application."""
    loan_id = form.origin_loan_id
    loan = db.session.get(Loan, loan_id) if loan_id is not None else None
    return loan if loan is not None and loan.borrower_id == document.user_id else None


def _review_origin_url(loan: Loan | None) -> str:
    if loan is None:
        return url_for("admin.document_queue")
    return url_for("admin.application_show", loan_id=loan.id)


def _review_refused(document: Document, form: DocumentReviewForm, loan: Loan | None):
    reviews = {document.id: form}
    if loan is None:
        return render(DOCUMENTS, "document_rows", status=422, **_documents_page(reviews))
    page = _application_page(loan, reviews=reviews)
    return render(APPLICATION, "document_reviews", status=422, **page)
