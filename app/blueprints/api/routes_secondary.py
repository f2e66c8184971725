"""The secondary market over the API: browse notes for sale, list and withdraw, buy by key."""

from datetime import date

from app.extensions import db, get_policy, limiter
from app.models import NoteListing, Role
from app.services.trading import listings, market, trades

from .routes import api_user, bearer_required, bp, owned_or_404
from .routes_money import _money_limit, _per_user
from .schemas import IdempotencyHeaderSchema
from .schemas_trading import (
    ListingRequestSchema,
    ListingSchema,
    OfferQuerySchema,
    OffersSchema,
    SliceRequestSchema,
    SliceResultSchema,
    TradeRequestSchema,
    TradeSchema,
)


@bp.route("/secondary/listings", methods=["GET"])
@bearer_required(Role.LENDER)
@bp.arguments(OfferQuerySchema, location="query")
@bp.response(200, OffersSchema)
@bp.doc(
    summary="Notes for sale, priced today (principal + accrued interest ± markup), best yield first"
)
def secondary_offers(query: dict):
    wanted = market.MarketFilter(
        grades=tuple(query.get("grades", "")),
        statuses=(query["loan_status"],) if query.get("loan_status") else (),
        min_yield=query.get("min_yield"),
        max_markup=query.get("max_markup"),
        max_remaining=query.get("max_payments_left"),
        limit=query["limit"],
    )
    return {"offers": market.offers(db.session, wanted, date.today(), get_policy())}


@bp.route("/secondary/listings", methods=["POST"])
@bearer_required(Role.LENDER)
@bp.arguments(ListingRequestSchema)
@bp.response(201, ListingSchema)
@bp.doc(summary="Offer one of your notes for sale at a markup (or discount) in percent")
def secondary_list(body: dict):
    listing = listings.list_note(
        db.session,
        seller_id=api_user().id,
        investment_id=body["investment_id"],
        markup_percent=body["markup_percent"],
        policy=get_policy(),
    )
    db.session.commit()
    return listing


@bp.route("/secondary/listings/slice", methods=["POST"])
@bearer_required(Role.LENDER)
@bp.arguments(SliceRequestSchema)
@bp.response(201, SliceResultSchema)
@bp.doc(summary="Offer every note of a slice (grades, loan states) at one markup")
def secondary_list_slice(body: dict):
    created, preview = listings.list_slice(
        db.session,
        seller_id=api_user().id,
        wanted=listings.SliceFilter(
            grades=tuple(body["grades"]), loan_statuses=tuple(body["loan_statuses"])
        ),
        markup_percent=body["markup_percent"],
        as_of=date.today(),
        policy=get_policy(),
    )
    db.session.commit()
    return {
        "listed": created,
        "skipped": [{"investment_id": note.id, "reason": why} for note, why in preview.skipped],
        "total_price": preview.total_price,
        "total_fees": preview.total_fees,
        "total_proceeds": preview.total_proceeds,
    }


@bp.route("/secondary/listings/<int:listing_id>", methods=["DELETE"])
@bearer_required(Role.LENDER)
@bp.response(200, ListingSchema)
@bp.doc(summary="Withdraw your listing (refused if it has sold)")
def secondary_withdraw(listing_id: int):
    owned_or_404(NoteListing, listing_id, "seller_id", "listing")
    listing = listings.cancel(db.session, seller_id=api_user().id, listing_id=listing_id)
    db.session.commit()
    return listing


@bp.route("/secondary/trades", methods=["POST"])
@bearer_required(Role.LENDER)
@limiter.limit(_money_limit, key_func=_per_user)
@bp.arguments(IdempotencyHeaderSchema, location="headers")
@bp.arguments(TradeRequestSchema)
@bp.response(201, TradeSchema)
@bp.doc(summary="Buy a listed note at the price and loan state you were shown; one key, one trade")
def secondary_buy(headers: dict, body: dict):
    trade = trades.buy(
        db.session,
        buyer_id=api_user().id,
        listing_id=body["listing_id"],
        expected_price=body["price"],
        expected_status=body["loan_status"],
        idempotency_key=headers["key"],
        today=date.today(),
        policy=get_policy(),
    )
    db.session.commit()
    return trade
