"""Lender pages: cash (deposit, withdraw) and the balance card other pages refresh."""

from datetime import date

from flask import Blueprint, flash, url_for
from flask_login import current_user

from app.access import role_required, second_factor_fresh
from app.confirmation import Confirmation, ask, confirmed
from app.extensions import db, get_gateway, get_policy
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.models import Provider, Role
from app.services.errors import DomainError
from app.services.lending import investing
from app.services.money import cash, payments, payouts
from app.services.servicing import returns

from . import confirmations
from .forms import DepositForm, WithdrawForm

bp = Blueprint("lender", __name__, url_prefix="/lender")


@bp.get("/")
@role_required(Role.LENDER)
def dashboard():
    """Cash, the headline figures and the deposit and withdrawal forms."""
    return render("lender/dashboard.html", **_cash_page())


@bp.get("/balance")
@role_required(Role.LENDER)
def balance_card():
    """The cash card, re-fetched whenever `balance-changed` fires."""
    return render("lender/dashboard.html", "balance", **_cash_page())


@bp.post("/deposits")
@role_required(Role.LENDER)
def deposit_create():
    """Add money through the payment provider (simulated: at once; Stripe: when it confirms)."""
    form = DepositForm()
    if not form.validate_on_submit():
        return render("lender/dashboard.html", "cash_forms", status=422, **_cash_page(deposit=form))
    try:
        started = payments.deposit(
            db.session,
            get_gateway(),
            current_user.id,
            form.amount.data,
            key=form.idempotency_key.data,
        )
    except DomainError as error:
        db.session.rollback()
        attach_errors(form, error, "amount")
        return render("lender/dashboard.html", "cash_forms", status=422, **_cash_page(deposit=form))
    db.session.commit()
    if started.reference:  # Stripe: the card comes next, on its own page
        return hx_redirect(url_for("card.pay", reference=started.reference))
    flash(started.message, "success")
    return hx_redirect(url_for("lender.dashboard"))


@bp.post("/withdrawals")
@role_required(Role.LENDER)
@second_factor_fresh
def withdrawal_create():
    """Send available cash back to the lender's bank (never more than is available)."""
    form = WithdrawForm()
    if form.validate_on_submit():
        if step := _confirmation_of(form.amount.data):
            return ask(step, url_for("lender.dashboard"))
        try:
            cash.withdraw(
                db.session,
                current_user.id,
                form.amount.data,
                provider=Provider.MANUAL,  # sent by bank transfer from the payout queue
                idempotency_key=form.idempotency_key.data,
            )
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error, "amount")
        else:
            db.session.commit()
            flash(
                f"${form.amount.data:,.2f} will be sent to your bank; this page shows where it is.",
                "success",
            )
            return hx_redirect(url_for("lender.dashboard"))
    return render("lender/dashboard.html", "cash_forms", status=422, **_cash_page(withdraw=form))


def _confirmation_of(amount) -> Confirmation | None:
    """A withdrawal the lender's cash covers is shown back to them first."""
    available = cash.available_cash(db.session, current_user.id)
    if confirmed() or amount > available:
        return None  # an amount above the cash gets the service's refusal instead
    return confirmations.withdrawal(amount, available)


def _cash_page(deposit: DepositForm | None = None, withdraw: WithdrawForm | None = None) -> dict:
    return {
        "summary": returns.summary(db.session, current_user.id, date.today()),
        "deposit": deposit or DepositForm.fresh(),
        "withdraw": withdraw or WithdrawForm.fresh(),
        "withdrawals": payouts.recent(db.session, current_user.id, limit=5),
        "suitability": investing.suitability(db.session, current_user.id, get_policy()),
    }
