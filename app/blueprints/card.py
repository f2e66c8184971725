"""The card page: a started Stripe deposit or loan payment, paid with a card in the browser.

Stripe.js draws the card field and turns the card into a token; this page posts only that
token's card id. The money is credited when Stripe's webhook confirms the charge, never here.
"""

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from app.extensions import db, get_gateway
from app.forms import whole_number
from app.htmx import render
from app.models import Loan
from app.services.errors import DomainError
from app.services.money import card_payments
from app.services.money.card_payments import CardPayment

bp = Blueprint("card", __name__, url_prefix="/card")


@bp.get("/<reference>")
@login_required
def pay(reference: str):
    """Ask for a card, finish 3-D Secure, or say where the payment stands."""
    payment = _payment_or_404(reference)
    if payment.status in card_payments.UNDER_WAY:
        return _done(payment, "Card accepted: the money is added when your bank confirms it.")
    if payment.status == "canceled":
        return _done(payment, "This payment was cancelled; nothing was charged.", "error")
    return render("card/pay.html", **_page(payment, error=payment.last_error))


@bp.post("/<reference>")
@login_required
def pay_submit(reference: str):
    """Confirm the charge with the card Stripe.js tokenised; 422 with the reason if refused."""
    payment = _payment_or_404(reference)
    try:
        payment = card_payments.pay(get_gateway(), payment, request.form.get("card", ""))
    except DomainError as error:
        return render("card/pay.html", status=422, **_page(payment, error=error.message))
    return redirect(url_for("card.pay", reference=payment.reference), 303)


@bp.post("/setup")
@login_required
def setup_start():
    """Begin saving a card for scheduled payments and autopay (Stripe only)."""
    gateway = get_gateway()
    if not gateway.confirms_later:
        abort(404)
    reference = card_payments.start_saving(db.session, gateway, current_user)
    db.session.commit()
    loan = whole_number(request.form.get("loan"))
    return redirect(url_for("card.setup_show", reference=reference, loan=loan), 303)


@bp.get("/setup/<reference>")
@login_required
def setup_show(reference: str):
    """The card field for saving a card; once the bank has said yes, keep it and go back."""
    setup = card_payments.setup_of(get_gateway(), reference, current_user.id)
    if setup is None:
        abort(404)
    back = _loan_page(whole_number(request.args.get("loan")))
    if card_payments.finish_saving(db.session, current_user, setup):
        db.session.commit()
        flash(f"{setup.label} is saved for scheduled payments and autopay.", "success")
        return redirect(back, 303)
    return render(
        "card/setup.html",
        setup=setup,
        back=back,
        stripe_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
        stripe_js=current_app.config["STRIPE_JS_URL"],
    )


def _loan_page(loan_id: int | None) -> str:
    """Back to the borrower's own loan the card was saved from, else their dashboard."""
    loan = db.session.get(Loan, loan_id) if loan_id else None
    if loan is not None and loan.borrower_id == current_user.id:
        return url_for("borrower.loan_show", loan_id=loan.id)
    return url_for("borrower.dashboard")


def _payment_or_404(reference: str) -> CardPayment:
    payment = card_payments.payment_of(get_gateway(), reference, current_user.id)
    if payment is None:
        abort(404)
    return payment


def _page(payment: CardPayment, *, error: str | None) -> dict:
    return {
        "payment": payment,
        "error": error,
        "back": _destination(payment),
        "stripe_key": current_app.config["STRIPE_PUBLISHABLE_KEY"],
        "stripe_js": current_app.config["STRIPE_JS_URL"],
        "authenticate": payment.status == card_payments.NEEDS_AUTHENTICATION,
    }


def _done(payment: CardPayment, message: str, category: str = "success"):
    flash(message, category)
    return redirect(_destination(payment), 303)


def _destination(payment: CardPayment) -> str:
    if payment.kind == "loan_payment" and payment.loan_id:
        return url_for("borrower.loan_show", loan_id=payment.loan_id)
    return url_for("lender.dashboard")
