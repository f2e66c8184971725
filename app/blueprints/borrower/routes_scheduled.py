"""A borrower's payments on a date: schedule one, cancel it, turn autopay on or off."""

from datetime import UTC, date, datetime

from flask import flash, request, url_for
from flask_login import current_user

from app.access import owned_or_404, role_required
from app.extensions import db, get_policy
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.models import Loan, Role
from app.services.errors import DomainError
from app.services.servicing import scheduled_payments

from .forms import PaymentForm, SchedulePaymentForm
from .routes import bp
from .routes_loans import loan_page


@bp.post("/loans/<int:loan_id>/scheduled")
@role_required(Role.BORROWER)
def scheduled_create(loan_id: int):
    """Schedule a payment for a later date; 422 with the reason when it cannot be."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    form = SchedulePaymentForm()
    if form.validate_on_submit():
        try:
            planned = scheduled_payments.schedule(
                db.session, loan, form.amount.data, form.pay_on.data,
                payer_id=current_user.id, key=form.idempotency_key.data,
                today=date.today(), policy=get_policy(),
            )  # fmt: skip
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error, "amount")
        else:
            db.session.commit()
            flash(f"Payment of ${planned.amount:,.2f} scheduled for {planned.pay_on:%B} "
                  f"{planned.pay_on.day}, {planned.pay_on.year}.", "success")  # fmt: skip
            return hx_redirect(url_for("borrower.loan_show", loan_id=loan.id))
    page = loan_page(loan, PaymentForm.fresh(), schedule_form=form)
    return render("borrower/loans/show.html", "scheduled", status=422, **page)


@bp.post("/loans/<int:loan_id>/scheduled/<int:scheduled_id>/cancel")
@role_required(Role.BORROWER)
def scheduled_cancel(loan_id: int, scheduled_id: int):
    """Call off a scheduled payment before its day."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    try:
        scheduled_payments.cancel(db.session, scheduled_id, current_user.id, date.today())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash("Scheduled payment cancelled; nothing will be collected.", "success")
    return hx_redirect(url_for("borrower.loan_show", loan_id=loan.id))


@bp.post("/loans/<int:loan_id>/autopay")
@role_required(Role.BORROWER)
def autopay_update(loan_id: int):
    """Autopay on (each installment collected on its due date) or off."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    enabled = request.form.get("autopay") == "on"
    try:
        scheduled_payments.set_autopay(
            db.session, loan, enabled, payer_id=current_user.id, now=datetime.now(UTC)
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash("Autopay is on: each installment is paid on its due date." if enabled
              else "Autopay is off.", "success")  # fmt: skip
    return hx_redirect(url_for("borrower.loan_show", loan_id=loan.id))
