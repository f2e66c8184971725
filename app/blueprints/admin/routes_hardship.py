"""The hardship queue: requests to offer (on their terms or adjusted ones) or decline."""

from datetime import date

from flask import flash, url_for
from flask_login import current_user
from sqlalchemy import select

from app.access import role_required
from app.extensions import db, get_policy
from app.forms import HardshipForm, attach_errors
from app.htmx import hx_redirect, render
from app.models import LoanModification, Role
from app.models.modification import OPEN_STATES
from app.services.errors import DomainError
from app.services.servicing import hardship_desk, modifications

from .forms import DeclineHardshipForm, PaymentForm
from .routes import bp

SHOW = "admin/hardship/show.html"


@bp.get("/hardship")
@role_required(Role.ADMIN)
def hardship_index():
    """Requests waiting for a decision, then offers waiting for the borrower."""
    queue = db.session.scalars(
        select(LoanModification)
        .where(LoanModification.state.in_(OPEN_STATES))
        .order_by(LoanModification.state.desc(), LoanModification.requested_at)
    ).all()
    return render("admin/hardship/index.html", queue=queue)


@bp.get("/hardship/<int:modification_id>")
@role_required(Role.ADMIN)
def hardship_show(modification_id: int):
    """One request: the loan's schedule now and the plan's, with the decision forms."""
    modification = db.get_or_404(LoanModification, modification_id)
    form = HardshipForm(formdata=None, kind=modification.kind.value, **_terms(modification))
    return render(SHOW, **_page(modification, form, DeclineHardshipForm(formdata=None)))


@bp.post("/hardship/<int:modification_id>/offer")
@role_required(Role.ADMIN)
def hardship_offer(modification_id: int):
    """Approve the request on the terms in the form; the borrower then accepts or not."""
    modification = db.get_or_404(LoanModification, modification_id)
    form = HardshipForm(kind=modification.kind.value)
    form.kind.data = modification.kind.value  # the kind is the borrower's; terms may change
    if form.validate_on_submit():
        try:
            modifications.offer(
                db.session, modification.id, current_user.id, date.today(), form.params(),
                form.reason.data or "", get_policy(),
            )  # fmt: skip
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error)
        else:
            db.session.commit()
            flash("Offered: the borrower can now accept the plan.", "success")
            return hx_redirect(url_for("admin.hardship_index"))
    page = _page(modification, form, DeclineHardshipForm(formdata=None))
    return render(SHOW, "decision", status=422, **page)


@bp.post("/hardship/<int:modification_id>/decline")
@role_required(Role.ADMIN)
def hardship_decline(modification_id: int):
    """Decline with a reason the borrower reads."""
    modification = db.get_or_404(LoanModification, modification_id)
    form = DeclineHardshipForm()
    if form.validate_on_submit():
        try:
            modifications.decline(db.session, modification.id, current_user.id, form.reason.data)
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error, "reason")
        else:
            db.session.commit()
            flash("Declined.", "success")
            return hx_redirect(url_for("admin.hardship_index"))
    page = _page(modification, HardshipForm(formdata=None, kind=modification.kind.value), form)
    return render(SHOW, "decision", status=422, **page)


@bp.post("/hardship/<int:modification_id>/settlement")
@role_required(Role.ADMIN)
def hardship_settlement(modification_id: int):
    """The agreed lump sum arrived: apply it and settle the loan."""
    modification = db.get_or_404(LoanModification, modification_id)
    form = PaymentForm()
    if form.validate_on_submit():
        try:
            hardship_desk.record_settlement(
                db.session, modification.id, current_user.id, form.amount.data,
                form.received_on.data or date.today(), form.reason.data, get_policy(),
            )  # fmt: skip
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error, "amount")
        else:
            db.session.commit()
            flash("Settled: the loan is closed and the rest charged off.", "success")
            return hx_redirect(url_for("admin.hardship_index"))
    page = _page(modification, HardshipForm(formdata=None), DeclineHardshipForm(formdata=None))
    return render(SHOW, "decision", status=422, **{**page, "received": form})


def _terms(modification: LoanModification) -> dict:
    return {
        key: value
        for key, value in modifications.stored_params(modification).items()
        if key in ("months", "term", "reduced_rate", "amount")
    }


def _page(modification: LoanModification, form: HardshipForm, decline) -> dict:
    return {
        "plan": modification,
        "loan": modification.loan,
        "form": form,
        "decline": decline,
        "open": modification.state in OPEN_STATES,
        "received": PaymentForm.fresh(amount=_terms(modification).get("amount")),
    }
