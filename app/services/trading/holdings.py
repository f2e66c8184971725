"""Who held a note when, and what trading made or cost each lender.

A note's owner before its first trade is that trade's seller; after each trade, its buyer.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Investment, NoteTrade
from app.services.money.money import ZERO
from app.services.servicing.portfolio import COMPLETED


@dataclass(frozen=True)
class Held:
    """One stretch of ownership: from the trade date it was bought (None: at issue) to the
    trade date it was sold (None: still held)."""

    since: date | None
    until: date | None

    def covers(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (
            self.until is None or day < self.until
        )


@dataclass(frozen=True)
class TradingResult:
    """What the lender's trades add to what their notes earned (all realised)."""

    realised_gains: Decimal  # on sales: premium received less fee less premium once paid
    accrued_sold: Decimal  # interest earned before a sale, paid by the buyer
    accrued_bought: Decimal  # interest earned before a purchase, paid to the seller
    premium_closed: Decimal  # premium paid (discount: negative) on bought notes since closed

    @property
    def total(self) -> Decimal:
        return self.realised_gains + self.accrued_sold - self.accrued_bought - self.premium_closed


def trades_of(session: Session, lender_id: int, as_of: date | None = None) -> list[NoteTrade]:
    """Every trade the lender bought or sold in, oldest first."""
    query = (
        select(NoteTrade)
        .where(or_(NoteTrade.seller_id == lender_id, NoteTrade.buyer_id == lender_id))
        .order_by(NoteTrade.traded_at)
    )
    if as_of is not None:
        query = query.where(NoteTrade.trade_date <= as_of)
    return list(session.scalars(query))


def ownership(trades: list[NoteTrade], lender_id: int) -> dict[int, list[Held]]:
    """The stretches the lender held each traded note, from the note's trades in order."""
    by_note = defaultdict(list)
    for trade in trades:
        by_note[trade.investment_id].append(trade)
    held = defaultdict(list)
    for note_id, note_trades in by_note.items():
        since = None if note_trades[0].seller_id == lender_id else False
        for trade in note_trades:
            if trade.seller_id == lender_id and since is not False:
                held[note_id].append(Held(since, trade.trade_date))
                since = False
            if trade.buyer_id == lender_id:
                since = trade.trade_date
        if since is not False:
            held[note_id].append(Held(since, None))
    return dict(held)


def trading_result(
    lender_id: int, trades: list[NoteTrade], notes: dict[int, Investment]
) -> TradingResult:
    """`trades` the lender took part in; `notes` those they hold now, by id."""
    gains = sold = bought = closed = ZERO
    last_bought = {}
    for trade in trades:
        if trade.seller_id == lender_id:
            gains += trade.realised_gain
            sold += trade.accrued_interest
        if trade.buyer_id == lender_id:
            bought += trade.accrued_interest
            last_bought[trade.investment_id] = trade
    for note_id, trade in last_bought.items():
        note = notes.get(note_id)
        if note is not None and note.lender_id == lender_id and note.status in COMPLETED:
            closed += trade.premium
    return TradingResult(gains, sold, bought, closed)


def sold_note_ids(trades: list[NoteTrade], lender_id: int) -> set[int]:
    return {trade.investment_id for trade in trades if trade.seller_id == lender_id}
