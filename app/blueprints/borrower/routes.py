"""Borrower pages: the dashboard, applying with a live preview, the offer and the decision."""

import uuid
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.access import owned_or_404, role_required
from app.confirmation import ask, confirmed
from app.extensions import db, get_policy
from app.htmx import hx_redirect, is_htmx, render
from app.models import CREDIT_FACTS, Loan, LoanPurpose, LoanStatus, Role
from app.risk.features import FeatureError
from app.services.accounts import verification
from app.services.errors import DomainError
from app.services.lending import adverse_action, origination, underwriting

from . import confirmations
from .forms import ApplicationForm, ReviewRequestForm

bp = Blueprint("borrower", __name__, url_prefix="/borrower")

INLINE_FIELDS = ("amount", *CREDIT_FACTS)


@bp.get("/")
@role_required(Role.BORROWER)
def dashboard():
    """The borrower's applications and loans with their states."""
    loans = db.session.scalars(
        select(Loan).where(Loan.borrower_id == current_user.id).order_by(Loan.created_at.desc())
    ).all()
    steps = verification.checklist(db.session, current_user)
    return render("borrower/dashboard.html", loans=loans, steps=steps)


@bp.get("/applications/new")
@role_required(Role.BORROWER)
def application_new():
    """The application form (a complete profile first)."""
    if not current_user.profile_complete:
        flash("Complete your profile before you apply.", "info")
        return redirect(url_for("auth.profile_show"))
    form = _application_form(
        annual_income=current_user.annual_income, idempotency_key=str(uuid.uuid4())
    )
    return render("borrower/applications/new.html", **_new_page(form))


@bp.post("/applications/preview")
@role_required(Role.BORROWER)
def application_preview():
    """The live payment preview while the borrower types."""
    return render("borrower/applications/new.html", "preview", **_new_page(_application_form()))


@bp.post("/applications/fields/<name>")
@role_required(Role.BORROWER)
def application_field(name: str):
    """Validate one field as the borrower leaves it (422 with the message when invalid)."""
    if name not in INLINE_FIELDS:
        abort(404)
    form = _application_form()
    valid = form[name].validate(form)
    return render(
        "borrower/applications/new.html",
        "inline_field",
        status=200 if valid else 422,
        form=form,
        name=name,
    )


@bp.post("/applications")
@role_required(Role.BORROWER)
def application_create():
    """Apply; the application page then waits for the risk score."""
    form = _application_form()
    if not current_user.profile_complete:
        abort(403)
    if not form.validate_on_submit():
        return render("borrower/applications/new.html", status=422, **_new_page(form))
    loan = origination.submit_application(
        db.session,
        current_user.id,
        amount=form.amount.data,
        term_months=form.term_months.data,
        purpose=LoanPurpose(form.purpose.data),
        credit_facts=form.credit_facts(),
        title=form.title.data or None,
        description=form.description.data or None,
        collateral_description=form.collateral_description.data or None,
        policy=get_policy(),
        idempotency_key=form.idempotency_key.data or None,
    )
    db.session.commit()
    return hx_redirect(url_for("borrower.application_show", loan_id=loan.id))


@bp.get("/applications/<int:loan_id>")
@role_required(Role.BORROWER, Role.ADMIN)
def application_show(loan_id: int):
    """The application: waiting for its score, the offer, or the decision."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    return render("borrower/applications/show.html", **show_page(loan))


@bp.get("/applications/<int:loan_id>/status")
@role_required(Role.BORROWER, Role.ADMIN)
def application_status(loan_id: int):
    """Polled until the score is in; then the decision replaces the waiting notice."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    oob = {"oob": True} if is_htmx() else {}  # the page head's badge, updated with it
    return render("borrower/applications/show.html", "decision", **oob, **show_page(loan))


@bp.post("/applications/<int:loan_id>/accept")
@role_required(Role.BORROWER)
def application_accept(loan_id: int):
    """Take the offer: admins verify and approve it next."""
    return _answer(loan_id, origination.accept_offer, origination.OFFER_ACCEPTED, _acceptance_of)


@bp.post("/applications/<int:loan_id>/withdraw")
@role_required(Role.BORROWER)
def application_withdraw(loan_id: int):
    """Walk away from the application."""
    return _answer(loan_id, origination.withdraw, origination.WITHDRAWN, confirmations.withdrawal)


def _answer(loan_id: int, action, message: str, confirmation):
    """`action` on the loan once the borrower has confirmed what `confirmation` shows them."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    page = url_for("borrower.application_show", loan_id=loan_id)
    if not confirmed() and (step := confirmation(loan)):
        return ask(step, page)
    try:
        action(db.session, loan)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return hx_redirect(page)


def _acceptance_of(loan: Loan):
    """The offer's figures, while there is an offer to accept (else the service says no)."""
    offer = origination.offer_summary(loan, date.today(), get_policy())
    if loan.status is not LoanStatus.OFFERED or offer is None:
        return None
    return confirmations.acceptance(loan, offer.net_amount)


def _application_form(**defaults) -> ApplicationForm:
    form = ApplicationForm(**defaults)
    form.term_months.choices = [SelectChoice(t, f"{t} months") for t in get_policy().loan_terms]
    for name in INLINE_FIELDS:
        # Only the message is swapped, never the input being typed into; a newer check
        # replaces an older one still in flight.
        form[name].render_kw = {
            "hx-post": url_for("borrower.application_field", name=name),
            "hx-trigger": "change",
            "hx-target": f"#{form[name].id}-feedback",
            "hx-swap": "innerHTML",
            "hx-include": "this",
            "hx-sync": "this:replace",
        }
    return form


def _new_page(form: ApplicationForm) -> dict:
    return {"form": form, "preview": _preview(form)}


def _preview(form: ApplicationForm) -> origination.PaymentPreview | None:
    """The live preview: at the estimated rate once the credit facts allow, else an example."""
    amount, term = form.amount.data, form.term_months.data
    if amount is None or not isinstance(term, int):
        return None
    facts = {
        **{k: v for k, v in form.credit_facts().items() if v is not None},
        "amount": amount,
        "purpose": form.purpose.data,
    }
    try:
        estimate = underwriting.estimate(
            db.session, facts, term_months=term, use_ml=current_app.config["ENABLE_ML_SCORING"]
        )
    except FeatureError:
        estimate = None
    return origination.payment_preview(amount, term, estimate, date.today(), get_policy())


def show_page(loan: Loan, review_form: ReviewRequestForm | None = None) -> dict:
    """What the application's page shows: the offer's figures, the notice and its review."""
    offer = origination.offer_summary(loan, date.today(), get_policy())
    return {
        "loan": loan,
        "notice": adverse_action.notice_for(db.session, loan.id),
        "review_form": review_form or ReviewRequestForm(formdata=None),
        "schedule": offer.schedule if offer else None,
        "net": offer.net_amount if offer else None,
        "total_interest": offer.total_interest if offer else None,
        "polling": loan.status is LoanStatus.SUBMITTED,
    }
