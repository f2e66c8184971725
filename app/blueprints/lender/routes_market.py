"""The marketplace (HTMX active search, state in the URL), loan detail and investing."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.access import role_required
from app.confirmation import Confirmation, ask, confirmed
from app.extensions import db, get_policy, stale_reads
from app.forms import attach_errors, page_number, whole_number
from app.htmx import is_htmx, render, stop_polling
from app.models import Investment, Loan, LoanPurpose, LoanStatus, Role
from app.services.collections import lender_view
from app.services.errors import DomainError
from app.services.lending import investing, marketplace
from app.services.money import cash
from app.services.money.money import parse_amount
from app.services.servicing import amortization, modification_apply

from . import confirmations
from .forms import InvestForm
from .routes import bp


@bp.get("/loans")
@role_required(Role.LENDER)
def listing_index():
    """Listed loans, filtered and sorted; htmx asks for just the results. Empty filters stay
    out of the address (the page is sent to, or htmx pushes, the address without them)."""
    clean, emptied = _without_empty_filters()
    if emptied and not is_htmx():
        return redirect(clean, 303)
    filters = _filters()
    page = marketplace.search(stale_reads(), filters)
    response = render(
        "lender/loans/index.html",
        "results",
        filters=filters,
        result=page,
        sorts=marketplace.SORTS,
        score_bands=list(marketplace.SCORE_BANDS),
        purposes=list(LoanPurpose),
        key=_key,
        query=request.args.to_dict(flat=False),
        now=datetime.now(UTC),
        suitability=_suitability_for_page(),
    )
    if is_htmx():
        response.headers["HX-Push-Url"] = clean
    return response


def _suitability_for_page():
    """The whole page says where the suitability limit binds; the filtered results need not."""
    if is_htmx():
        return None
    return investing.suitability(db.session, current_user.id, get_policy())


def _without_empty_filters() -> tuple[str, bool]:
    """This page's address without its empty parameters, and whether there were any."""
    given = list(request.args.items(multi=True))
    kept = [(name, value) for name, value in given if value != ""]
    clean = url_for("lender.listing_index") + (f"?{urlencode(kept)}" if kept else "")
    return clean, len(kept) < len(given)


@bp.get("/loans/<int:loan_id>")
@role_required(Role.LENDER)
def listing_show(loan_id: int):
    """Everything a lender needs to decide, and nothing that identifies the borrower."""
    loan = _listed_or_lent(loan_id)
    return render("lender/loans/show.html", **_detail_page(loan, InvestForm.fresh()))


@bp.get("/loans/<int:loan_id>/progress")
@role_required(Role.LENDER)
def listing_progress(loan_id: int):
    """The funding bar (polled while the loan takes money, and refreshed on `loan-funded`)."""
    loan = _listed_or_lent(loan_id)
    polling = investing.takes_investments(loan, datetime.now(UTC))
    response = render("lender/loans/show.html", "progress", loan=loan, polling=polling)
    return response if polling else stop_polling(response)


@bp.post("/loans/<int:loan_id>/investments")
@role_required(Role.LENDER)
def investment_create(loan_id: int):
    """Buy notes; errors come back as the form with a message (422)."""
    loan = _listed_or_lent(loan_id)
    form = InvestForm()
    if form.validate_on_submit():
        if step := _confirmation_of(loan, form.amount.data):
            return ask(step, url_for("lender.listing_show", loan_id=loan.id))
        try:
            _invest(loan, form)
        except DomainError as error:
            attach_errors(form, error, "amount")
        else:
            db.session.commit()
            db.session.refresh(loan)
            done = InvestForm.fresh()
            events = {"balance-changed": True, "loan-funded": {"loan_id": loan.id}}
            return _invest_response(loan, done, 200, events, invested=form.amount.data)
    db.session.rollback()
    return _invest_response(loan, form, 422, None)


def _invest(loan: Loan, form: InvestForm) -> None:
    investing.invest(
        db.session,
        lender_id=current_user.id,
        loan_id=loan.id,
        amount=form.amount.data,
        idempotency_key=form.idempotency_key.data,
        policy=get_policy(),
    )


def _confirmation_of(loan: Loan, amount) -> Confirmation | None:
    """A large investment the lender can pay for is shown back to them first."""
    if confirmed() or not get_policy().needs_confirmation(amount):
        return None
    available = cash.available_cash(db.session, current_user.id)
    return confirmations.investment(loan, amount, available) if amount <= available else None


def _invest_response(loan: Loan, form: InvestForm, status: int, events, invested=None):
    """The row's form in the marketplace, or the form on the detail page."""
    if request.args.get("from") == "row":
        message = f"Invested ${invested:,.2f}" if invested else None
        return render(
            "lender/loans/index.html",
            "row_invest",
            status=status,
            trigger=events,
            loan=loan,
            form=form,
            message=message,
        )
    return render(
        "lender/loans/show.html",
        "invest_form",
        status=status,
        trigger=events,
        **_detail_page(loan, form, invested=invested),
    )


def _listed_or_lent(loan_id: int) -> Loan:
    loan = db.session.get(Loan, loan_id)
    if loan is None or loan.status not in (LoanStatus.LISTED, LoanStatus.ISSUED):
        abort(404)
    if loan.status is LoanStatus.ISSUED and not db.session.scalar(
        select(Investment.id)
        .where(Investment.loan_id == loan.id, Investment.lender_id == current_user.id)
        .limit(1)
    ):
        abort(404)  # once issued, only its noteholders see it here
    return loan


def _detail_page(loan: Loan, form: InvestForm, invested: Decimal | None = None) -> dict:
    mine = db.session.scalars(
        select(Investment)
        .where(Investment.loan_id == loan.id, Investment.lender_id == current_user.id)
        .order_by(Investment.id)
    ).all()
    schedule = modification_apply.schedule_left(db.session, loan) if loan.modified else None
    schedule = schedule or amortization.schedule_from_issue(
        loan.amount,
        loan.interest_rate,
        loan.term_months,
        loan.listed_at.date(),
        rounding=get_policy().payment_rounding,
    )
    return {
        "loan": loan,
        "form": form,
        "facts": marketplace.lender_view(db.session, loan),
        "schedule": schedule,
        "mine": mine,
        "invested": invested,
        "polling": investing.takes_investments(loan, datetime.now(UTC)),
        "available": cash.available_cash(db.session, current_user.id),
        "suitability": investing.suitability(db.session, current_user.id, get_policy()),
        "modifications": modification_apply.lender_view(
            db.session, loan, sum((note.amount for note in mine), Decimal(0))
        ),
        "collection_activity": lender_view.activity(db.session, loan.id),
        "recoveries": lender_view.recoveries(db.session, [note.id for note in mine]),
    }


def _filters() -> marketplace.Filters:
    args = request.args
    grades = tuple(g for g in args.getlist("grade") if g in "ABCDE" and len(g) == 1)
    return marketplace.Filters(
        grades=grades,
        term=whole_number(args.get("term")),
        purpose=args.get("purpose")
        if args.get("purpose") in {p.value for p in LoanPurpose}
        else None,
        min_amount=_decimal(args.get("min_amount")),
        max_amount=_decimal(args.get("max_amount")),
        min_rate=_decimal(args.get("min_rate")),
        max_rate=_decimal(args.get("max_rate")),
        score_band=args.get("score") if args.get("score") in marketplace.SCORE_BANDS else None,
        max_dti=_decimal(args.get("max_dti")),
        verified_only=args.get("verified") == "1",
        sort=args.get("sort") if args.get("sort") in marketplace.SORTS else "newest",
        page=page_number(args),
    )


def _decimal(value: str | None) -> Decimal | None:
    """A filter's number, or None (ignored) when it is not a plain non-negative number."""
    try:
        number = parse_amount(value, places=3) if value else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None


def _key() -> str:
    return str(uuid.uuid4())
