"""Hardship plans for a borrower: ask with a preview, then accept or decline the offer."""

from datetime import date

from flask import abort, flash, url_for
from flask_login import current_user
from sqlalchemy import select

from app.access import owned_or_404, role_required
from app.extensions import db, get_policy
from app.forms import HardshipForm, attach_errors
from app.htmx import hx_redirect, render
from app.models import Loan, LoanModification, ModificationKind, ModificationState, Role
from app.models.modification import OPEN_STATES
from app.services.errors import DomainError
from app.services.servicing import modifications

from .routes import bp

PAGE = "borrower/loans/hardship.html"


@bp.get("/loans/<int:loan_id>/hardship")
@role_required(Role.BORROWER, Role.ADMIN)
def hardship_show(loan_id: int):
    """Ask for a plan, and see the plans asked for and offered."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    return render(PAGE, **_page(loan, HardshipForm(formdata=None, kind="holiday")))


@bp.post("/loans/<int:loan_id>/hardship/preview")
@role_required(Role.BORROWER)
def hardship_preview(loan_id: int):
    """The new schedule, what it costs in all and its effect, before anything is asked."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    form, seen = HardshipForm(), None
    if form.validate_on_submit():
        try:
            kind = ModificationKind(form.kind.data)
            seen = modifications.preview(
                db.session, loan, kind, form.params(), date.today(), get_policy()
            )
        except DomainError as error:
            attach_errors(form, error)
        db.session.rollback()  # a preview changes nothing
    status = 200 if seen else 422
    return render(PAGE, "request_form", status=status, **_page(loan, form, seen))


@bp.post("/loans/<int:loan_id>/hardship")
@role_required(Role.BORROWER)
def hardship_request(loan_id: int):
    """Send the request to the hardship team."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    form = HardshipForm()
    if form.validate_on_submit():
        try:
            modifications.request(
                db.session, loan.id, current_user.id, ModificationKind(form.kind.data),
                form.params(), form.reason.data or "", date.today(), get_policy(),
            )  # fmt: skip
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error)
        else:
            db.session.commit()
            flash("We have your request: we will reply within two business days.", "success")
            return hx_redirect(url_for("borrower.hardship_show", loan_id=loan.id))
    return render(PAGE, "request_form", status=422, **_page(loan, form))


@bp.post("/loans/<int:loan_id>/hardship/<int:modification_id>/<any(accept, decline):answer>")
@role_required(Role.BORROWER)
def hardship_answer(loan_id: int, modification_id: int, answer: str):
    """Accept the offered plan (the schedule changes now), or decline or withdraw it."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    _modification(loan, modification_id)
    try:
        if answer == "accept":
            done = modifications.accept(
                db.session, modification_id, current_user.id, date.today(), get_policy()
            )
        else:
            done = modifications.decline(
                db.session, modification_id, current_user.id, "", by_borrower=True
            )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(*_answer_message(done))
    return hx_redirect(url_for("borrower.hardship_show", loan_id=loan.id))


def _answer_message(done: LoanModification) -> tuple[str, str]:
    return {
        ModificationState.APPLIED: ("Your new schedule is in place.", "success"),
        ModificationState.ACCEPTED: (
            "Agreed: once your lump sum arrives, we close the loan.",
            "success",
        ),
        ModificationState.EXPIRED: (
            "This offer lapsed: the loan changed since it was made. Please ask again.",
            "error",
        ),
    }.get(done.state, ("Done: your loan is unchanged.", "success"))


def _modification(loan: Loan, modification_id: int) -> LoanModification:
    modification = db.session.get(LoanModification, modification_id)
    if modification is None or modification.loan_id != loan.id:
        abort(404)
    return modification


def _page(loan: Loan, form: HardshipForm, seen=None) -> dict:
    plans = db.session.scalars(
        select(LoanModification)
        .where(LoanModification.loan_id == loan.id)
        .order_by(LoanModification.id.desc())
    ).all()
    return {
        "loan": loan,
        "form": form,
        "preview": seen,
        "plans": plans,
        "open": next((p for p in plans if p.state in OPEN_STATES), None),
        "policy": get_policy(),
    }
