"""The notice a decline or counter-offer owes the applicant: download it, ask for a review."""

from flask import abort, flash, make_response, url_for
from flask_login import current_user

from app.access import owned_or_404, role_required
from app.extensions import db
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.models import Loan, Role
from app.services.errors import DomainError
from app.services.lending import adverse_action

from .forms import ReviewRequestForm
from .routes import bp, show_page

REVIEW_ASKED = "We've asked a person to review the decision. We'll write to you with the outcome."


@bp.get("/applications/<int:loan_id>/notice.txt")
@role_required(Role.BORROWER, Role.ADMIN)
def application_notice(loan_id: int):
    """The adverse-action notice word for word, as a text file to keep."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    notice = adverse_action.notice_for(db.session, loan.id) or abort(404)
    response = make_response(notice.text)
    response.mimetype = "text/plain"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="communitylend-notice-{loan.id}.txt"'
    )
    return response


@bp.post("/applications/<int:loan_id>/review")
@role_required(Role.BORROWER)
def application_review(loan_id: int):
    """Ask a person to review the decision (422 with the reason when it cannot be asked)."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    form = ReviewRequestForm()
    if form.validate_on_submit():
        try:
            adverse_action.request_review(db.session, loan.id, current_user.id, form.note.data)
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error)
        else:
            db.session.commit()
            flash(REVIEW_ASKED, "success")
            return hx_redirect(url_for("borrower.application_show", loan_id=loan.id))
    page = show_page(loan, review_form=form)
    return render("borrower/applications/show.html", "decision", status=422, **page)
