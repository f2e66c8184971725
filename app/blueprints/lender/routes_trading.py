"""The secondary market's pages: notes for sale (live), buying one, selling, trade history."""

from datetime import date

from flask import abort, request, url_for
from flask_login import current_user

from app.access import role_required
from app.extensions import db, get_policy
from app.forms import attach_errors, whole_number
from app.htmx import hx_redirect, is_htmx, render
from app.models import InvestmentStatus, Role
from app.services.errors import DomainError, TradeConflict
from app.services.money import cash
from app.services.money.money import parse_amount
from app.services.servicing import portfolio
from app.services.trading import book, holdings, listings, market, trades

from .forms import BuyForm, SellForm
from .routes import bp
from .routes_portfolio import _csv


@bp.get("/secondary")
@role_required(Role.LENDER)
def secondary_index():
    """Notes for sale with today's price and yield; the results refresh themselves."""
    wanted = _market_filter()
    offers = market.offers(db.session, wanted, date.today(), get_policy())
    return render(
        "lender/secondary/index.html",
        "offers",
        wanted=wanted,
        offers=offers,
        forms={offer.listing_id: _buy_form(offer) for offer in offers},
        statuses=[(s.value, book.STATUS_LABELS[s]) for s in book.TRADEABLE],
        me=current_user.id,
    )


@bp.get("/secondary/<int:listing_id>")
@role_required(Role.LENDER)
def secondary_show(listing_id: int):
    """One note for sale: the loan's payment history, state, price and yield."""
    offer = market.offer(db.session, listing_id, date.today(), get_policy())
    if offer is None:
        abort(404)
    return render("lender/secondary/show.html", **_offer_page(offer, _buy_form(offer)))


@bp.post("/secondary/<int:listing_id>/buy")
@role_required(Role.LENDER)
def secondary_buy(listing_id: int):
    """Buy at the price shown; a changed price or state comes back as a message (409/422)."""
    form = BuyForm()
    status = 422
    if form.validate_on_submit():
        try:
            trade = _buy(listing_id, form)
        except DomainError as error:
            attach_errors(form, error, "price")
            status = 409 if isinstance(error, TradeConflict) else 422
        else:
            db.session.commit()
            message = f"Bought note #{trade.investment_id} for ${trade.price:,.2f}"
            page = "lender/secondary/index.html"
            trigger = {"balance-changed": True}
            return render(page, "bought", trigger=trigger, message=message, listing_id=listing_id)
    db.session.rollback()
    page = "lender/secondary/index.html"
    return render(page, "buy_form", status=status, listing_id=listing_id, form=form)


def _buy(listing_id: int, form: BuyForm):
    return trades.buy(
        db.session,
        buyer_id=current_user.id,
        listing_id=listing_id,
        expected_price=form.price.data,
        expected_status=form.loan_status.data,
        idempotency_key=form.idempotency_key.data,
        today=date.today(),
        policy=get_policy(),
    )


@bp.route("/sell", methods=["GET", "POST"])
@role_required(Role.LENDER)
def sell_index():
    """Sell notes: tick notes or pick a slice, preview the proceeds, then list them."""
    form = _sell_form()
    preview = None
    if request.method == "POST" and form.validate_on_submit():
        try:
            preview = listings.preview_slice(db.session, **_slice_of(form))
            if request.form.get("confirm") == "1":
                created, preview = listings.list_slice(db.session, **_slice_of(form))
                db.session.commit()
                return hx_redirect(url_for("lender.sell_index", listed=len(created)))
        except DomainError as error:
            attach_errors(form, error, "markup_percent")
            preview = None
    status = 422 if form.errors else 200
    return render(
        "lender/secondary/sell.html",
        "preview" if request.method == "POST" else None,
        status=status,
        **_sell_page(form, preview),
    )


@bp.post("/listings/<int:listing_id>/withdraw")
@role_required(Role.LENDER)
def listing_withdraw(listing_id: int):
    try:
        listings.cancel(db.session, seller_id=current_user.id, listing_id=listing_id)
        db.session.commit()
        message = None
    except DomainError as error:
        db.session.rollback()
        message = error.message
    return render(
        "lender/secondary/sell.html", "my_listings", **_sell_page(_sell_form(), None, message)
    )


@bp.get("/trades")
@role_required(Role.LENDER)
def trades_index():
    """Every note bought and sold, with holding periods and realised gains."""
    history = holdings.trades_of(db.session, current_user.id)
    return render(
        "lender/secondary/trades.html", trades=list(reversed(history)), me=current_user.id
    )


@bp.get("/trades.csv")
@role_required(Role.LENDER)
def trades_csv():
    """Trades for tax records: each sale's realised gain or loss and holding period."""
    rows = [
        (
            trade.trade_date,
            "sold" if trade.seller_id == current_user.id else "bought",
            trade.investment_id,
            trade.principal,
            trade.accrued_interest,
            trade.markup_percent,
            trade.premium,
            trade.price,
            trade.fee if trade.seller_id == current_user.id else "",
            trade.realised_gain if trade.seller_id == current_user.id else "",
            trade.seller_held_since.date() if trade.seller_id == current_user.id else "",
            (trade.traded_at - trade.seller_held_since).days
            if trade.seller_id == current_user.id
            else "",
        )
        for trade in holdings.trades_of(db.session, current_user.id)
    ]
    return _csv("trades.csv", TRADES_CSV_HEADER, rows)


TRADES_CSV_HEADER = (
    "trade_date",
    "side",
    "note_id",
    "principal",
    "accrued_interest",
    "markup_percent",
    "premium",
    "price",
    "fee",
    "realised_gain",
    "held_since",
    "holding_days",
)


def _market_filter() -> market.MarketFilter:
    args = request.args
    return market.MarketFilter(
        grades=tuple(g for g in args.getlist("grade") if len(g) == 1 and g in "ABCDEFG"),
        statuses=tuple(s for s in args.getlist("status") if s in {t.value for t in book.TRADEABLE}),
        min_yield=_percent(args.get("min_yield")),
        max_markup=_percent(args.get("max_markup")),
        max_remaining=whole_number(args.get("max_left")),
    )


def _percent(value: str | None):
    try:
        return parse_amount(value, places=2) if value else None
    except ValueError:
        return None


def _buy_form(offer: market.Offer) -> BuyForm:
    return BuyForm.fresh(price=offer.quote.price, loan_status=offer.status.value)


def _offer_page(offer, form) -> dict:
    return {
        "offer": offer,
        "form": form,
        "history": market.payment_history(db.session, offer.loan_id),
        "available": cash.available_cash(db.session, current_user.id),
        "listing_id": offer.listing_id,
        "me": current_user.id,
    }


def _sell_form() -> SellForm:
    form = SellForm()
    form.note_ids.choices = [(note.id, f"#{note.id}") for note, _ in _active_notes()]
    return form


def _active_notes():
    return portfolio.notes(db.session, current_user.id, InvestmentStatus.ACTIVE.value)


def _wanted(form: SellForm) -> listings.SliceFilter:
    return listings.SliceFilter(
        grades=tuple(form.grades.data or ()),
        loan_statuses=tuple(form.loan_statuses.data or ()),
        note_ids=tuple(form.note_ids.data or ()),
    )


def _slice_of(form: SellForm) -> dict:
    """What the sell form asks of `listings.preview_slice` and `listings.list_slice`."""
    return {
        "seller_id": current_user.id,
        "wanted": _wanted(form),
        "markup_percent": form.markup_percent.data,
        "as_of": date.today(),
        "policy": get_policy(),
    }


def _sell_page(form: SellForm, preview, message: str | None = None) -> dict:
    return {
        "form": form,
        "preview": preview,
        "notes": _active_notes(),
        "mine": market.listings_of(db.session, current_user.id),
        "listed": whole_number(request.args.get("listed")),
        "message": message,
        "labels": book.STATUS_LABELS,
        "is_htmx": is_htmx(),
    }
