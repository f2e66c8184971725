"""Servicing one loan: its schedule, a payment received by hand, a waived late fee, a charge-off."""

from collections.abc import Callable
from datetime import date

from flask import Response, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.access import role_required
from app.confirmation import ask, confirmed, rehearse
from app.extensions import db, get_policy
from app.forms import attach_errors, page_number
from app.htmx import hx_redirect, render
from app.models import Loan, Role
from app.services.errors import DomainError
from app.services.servicing import loan_book, repayments, servicing

from . import confirmations
from .forms import ChargeOffForm, PaymentForm, WaiveForm
from .routes import bp

LOAN_PAGE = "admin/loan.html"


@bp.get("/loans")
@role_required(Role.ADMIN)
def loan_index():
    """Every loan, filtered by state and searched by number, name or email (active search)."""
    state = request.args.get("state") or None
    query = (request.args.get("q") or "").strip()[:100]
    book = loan_book.search(db.session, state=state, query=query, page=page_number(request.args))
    return render(
        "admin/loans.html",
        "loan_rows",
        book=book,
        state=state,
        query=query,
        states=loan_book.STATES,
    )


@bp.get("/loans/<int:loan_id>")
@role_required(Role.ADMIN)
def loan_service(loan_id: int):
    """A loan's schedule with the servicing actions."""
    return render(LOAN_PAGE, **_loan_page(db.get_or_404(Loan, loan_id)))


@bp.post("/loans/<int:loan_id>/payment")
@role_required(Role.ADMIN)
def loan_payment(loan_id: int):
    """Record a payment received by hand; the same form sent twice records it once."""
    return _act(
        loan_id,
        "payment",
        PaymentForm(),
        "amount",
        lambda loan, form: repayments.record_manual_payment(
            db.session,
            loan.id,
            form.amount.data,
            received_on=form.received_on.data or date.today(),
            key=form.idempotency_key.data,
            admin_id=current_user.id,
            reason=form.reason.data,
            policy=get_policy(),
        ),
    )


@bp.post("/loans/<int:loan_id>/waive")
@role_required(Role.ADMIN)
def loan_waive(loan_id: int):
    """Forgive the unpaid late fee on one of this loan's installments."""
    form = WaiveForm().with_installments(db.get_or_404(Loan, loan_id).installments)
    return _act(
        loan_id,
        "waive",
        form,
        "installment_id",
        lambda loan, form: servicing.waive_late_fee(
            db.session, form.installment_id.data, current_user.id, form.reason.data, date.today()
        ),
    )


@bp.post("/loans/<int:loan_id>/charge_off")
@role_required(Role.ADMIN)
def loan_charge_off(loan_id: int):
    """Write the loan's remaining principal off, with the reason."""
    return _act(
        loan_id,
        "charge_off",
        ChargeOffForm(),
        None,
        lambda loan, form: servicing.charge_off(
            db.session, loan.id, date.today(), reason=form.reason.data, admin_id=current_user.id
        ),
        confirmation=_charge_off_step,
    )


def _charge_off_step(loan: Loan):
    """The write-off's figures (asked only after a rehearsal found it possible)."""
    return confirmations.charge_off(loan, servicing.noteholders(db.session, loan.id))


def _act(
    loan_id: int,
    name: str,
    form: FlaskForm,
    field: str | None,
    action: Callable,
    confirmation: Callable | None = None,
) -> Response:
    """Validate, call `action(loan, form)` (once the step `confirmation(loan)` returns, if any,
    is confirmed), commit; a refusal re-renders the forms with its message.

    `field` is where a refusal that names no field of its own is shown (None: above the form).
    """
    loan = db.get_or_404(Loan, loan_id)
    if form.validate_on_submit():
        try:
            if confirmation and not confirmed():
                rehearse(lambda: action(loan, form))
                return ask(confirmation(loan), url_for("admin.loan_service", loan_id=loan.id))
            action(loan, form)
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error, field)
        else:
            db.session.commit()
            flash("Done.", "success")
            return hx_redirect(url_for("admin.loan_service", loan_id=loan.id))
    return render(LOAN_PAGE, "servicing_forms", status=422, **_loan_page(loan, **{name: form}))


def _loan_page(
    loan: Loan,
    payment: PaymentForm | None = None,
    waive: WaiveForm | None = None,
    charge_off: ChargeOffForm | None = None,
) -> dict:
    installments = loan.installments
    return {
        "loan": loan,
        "installments": installments,
        "payment": payment or PaymentForm.fresh(),
        "waive": waive or WaiveForm(formdata=None).with_installments(installments),
        "charge_off": charge_off or ChargeOffForm(formdata=None),
    }
