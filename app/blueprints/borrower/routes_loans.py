"""A borrower's loan: schedule, payment history, and paying (with one effect per request)."""

from datetime import date

from flask import flash, request, url_for
from sqlalchemy import func, select

from app.access import owned_or_404, role_required
from app.confirmation import ask, confirmed
from app.extensions import db, get_gateway, get_policy
from app.forms import attach_errors, page_number
from app.htmx import hx_redirect, render
from app.models import Loan, Payment, Role
from app.services.errors import DomainError
from app.services.money import payments
from app.services.servicing import repayments, scheduled_payments, statements

from . import confirmations
from .forms import PaymentForm, SchedulePaymentForm
from .routes import bp

PAGE_SIZE = 10


@bp.get("/loans/<int:loan_id>")
@role_required(Role.BORROWER, Role.ADMIN)
def loan_show(loan_id: int):
    """Schedule, payment history, balance, next payment and the pay form."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    return render("borrower/loans/show.html", **loan_page(loan, PaymentForm.fresh()))


@bp.get("/loans/<int:loan_id>/payments")
@role_required(Role.BORROWER, Role.ADMIN)
def loan_payments(loan_id: int):
    """One page of the payment history (HTMX pagination)."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    return render(
        "borrower/loans/show.html",
        "payment_history",
        **loan_page(loan, PaymentForm.fresh()),
    )


@bp.post("/loans/<int:loan_id>/payments")
@role_required(Role.BORROWER)
def payment_create(loan_id: int):
    """Pay the amount due, a chosen amount, or the payoff; a resubmitted form pays once."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    form = PaymentForm()
    page = loan_page(loan, form)
    if form.validate_on_submit():
        try:
            amount = _amount(loan, form, page)
            if not confirmed():
                step = confirmations.payment(loan, amount, form.choice.data)
                return ask(step, url_for("borrower.loan_show", loan_id=loan.id))
            result = _pay(loan, amount, form)
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error, "amount")
        else:
            db.session.commit()
            if result.reference:  # Stripe: the card comes next, on its own page
                return hx_redirect(url_for("card.pay", reference=result.reference))
            flash(result.message, "success")
            return hx_redirect(url_for("borrower.loan_show", loan_id=loan.id))
    return render("borrower/loans/show.html", "pay_form", status=422, **page)


def _amount(loan: Loan, form: PaymentForm, page: dict):
    payoff = page["payoff"].total if page["payoff"] else None
    amount = statements.payment_amount(form.choice.data, page["account"], payoff, form.amount.data)
    if amount is None:
        raise DomainError("Nothing is due on this loan now.", field="amount")
    repayments.check_payable(db.session, loan, amount, date.today())  # before asking to confirm
    return amount


def _pay(loan: Loan, amount, form: PaymentForm) -> payments.PaymentResult:
    return payments.pay_loan(
        db.session,
        get_gateway(),
        loan,
        amount,
        payer_id=loan.borrower_id,
        key=form.idempotency_key.data,
        today=date.today(),
        policy=get_policy(),
    )


def loan_page(loan: Loan, form: PaymentForm, schedule_form=None) -> dict:
    page = page_number(request.args)
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.loan_id == loan.id)
        .order_by(Payment.received_on.desc(), Payment.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    total = db.session.scalar(
        select(func.count()).select_from(Payment).where(Payment.loan_id == loan.id)
    )
    today = date.today()
    account = statements.statement(db.session, loan, today)
    serviced = statements.in_repayment(loan)
    return {
        "loan": loan,
        "account": account,
        "installments": account.installments,
        "payments": payments,
        "page": page,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        "form": form,
        "today": today,
        "due_now": account.due_now or None,
        "next": account.next,
        "next_amount": account.next_amount,
        "payoff": repayments.payoff_amount(db.session, loan, today) if serviced else None,
        "total_paid": account.total_paid,
        "can_pay": serviced,
        "scheduled": scheduled_payments.scheduled_for(db.session, loan.id),
        "schedule_form": schedule_form or SchedulePaymentForm.fresh(),
        "needs_saved_card": get_gateway().confirms_later,  # a card provider charges a saved card
    }
