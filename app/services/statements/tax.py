"""The lender's year-end tax package, for every lender of a year at once: interest income
(1099-INT/OID style: gross, the accrued-interest adjustment for notes bought and sold, net),
late-fee share, fees paid, charge-off losses, recoveries and realised gains on trades."""

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services.money.money import ZERO
from app.services.statements.lender_month import ALLOCATIONS, NOTES, TRADES
from app.services.statements.periods import Period

LONG_TERM_DAYS = 365  # held more than a year: a long-term gain or loss

FIELDS = (
    "gross_interest",
    "accrued_interest_sold",
    "accrued_interest_bought",
    "net_interest",
    "late_fees",
    "servicing_fees",
    "agency_fees",
    "trading_fees",
    "charge_off_losses",
    "recoveries",
    "short_term_gains",
    "long_term_gains",
    "realised_gains",
)


def figures(session: Session, period: Period) -> dict[int, dict[str, Decimal]]:
    """Every lender's tax figures for the year `period` (lenders with none left out)."""
    bounds = period.bounds
    rows: dict[int, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(FIELDS, ZERO))
    for lender, _principal, interest, late_fees, recoveries, fees, agency in session.execute(
        text(ALLOCATIONS), bounds
    ):
        row = rows[lender]
        row["gross_interest"] += interest
        row["late_fees"] += late_fees
        row["recoveries"] += recoveries
        row["servicing_fees"] += fees
        row["agency_fees"] += agency
    for trade in session.execute(text(TRADES), bounds):
        seller, buyer = rows[trade.seller_id], rows[trade.buyer_id]
        seller["accrued_interest_sold"] += trade.accrued_interest
        seller["trading_fees"] += trade.fee
        term = "long" if held_long(trade.seller_held_since, trade.trade_date) else "short"
        seller[f"{term}_term_gains"] += trade.realised_gain
        buyer["accrued_interest_bought"] += trade.accrued_interest
    for lender, _, charged in session.execute(text(NOTES), bounds):
        if charged:
            rows[lender]["charge_off_losses"] += charged
    for row in rows.values():
        row["net_interest"] = (
            row["gross_interest"] + row["accrued_interest_sold"] - row["accrued_interest_bought"]
        )
        row["realised_gains"] = row["short_term_gains"] + row["long_term_gains"]
    return {lender: row for lender, row in rows.items() if any(row.values())}


def held_long(since: datetime | date, sold_on: date) -> bool:
    """Held more than a year (from the day it was bought or issued to the day it was sold)."""
    bought_on = since.date() if isinstance(since, datetime) else since
    return (sold_on - bought_on).days > LONG_TERM_DAYS
