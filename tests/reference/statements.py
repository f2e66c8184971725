"""A reference for statements, kept deliberately simple: one lender, walked in Python.

It reads the lender's own cash postings one by one and files each under its entry's month and
kind; payments by their allocations' `received_on`; trades by their trade date. Nothing here
is shared with app/services/statements: the product's set-based SQL has to agree with it.
"""

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from app.models import (
    AccountKind,
    Investment,
    JournalEntry,
    LedgerAccount,
    NoteTrade,
    Payment,
    PaymentAllocation,
    Posting,
)

ZERO = Decimal("0.00")


def month_of(moment) -> str:
    return f"{moment:%Y-%m}"


def cash_by_month_and_kind(session, lender_id: int) -> dict[str, dict[str, Decimal]]:
    """month -> entry kind -> what the lender's cash gained (credits positive)."""
    result: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    rows = session.execute(
        select(JournalEntry.effective_date, JournalEntry.kind, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(LedgerAccount.kind == AccountKind.LENDER_CASH, LedgerAccount.owner_id == lender_id)
    )
    for when, kind, amount in rows:
        result[month_of(when)][kind] -= amount
    return result


def allocations_by_month(session, lender_id: int) -> dict[str, dict[str, Decimal]]:
    """month (of the payment's received_on) -> part -> the lender's share."""
    result: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    rows = session.execute(
        select(Payment.received_on, PaymentAllocation)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.lender_id == lender_id)
    )
    for received_on, share in rows:
        month = result[month_of(received_on)]
        for part in (
            "principal", "interest", "late_fee", "recovery", "servicing_fee", "agency_fee"
        ):  # fmt: skip
            month[part] += getattr(share, part)
    return result


def trades_by_month(session, lender_id: int) -> dict[str, dict[str, Decimal]]:
    result: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for trade in session.scalars(select(NoteTrade)):
        month = result[month_of(trade.trade_date)]
        if trade.seller_id == lender_id:
            month["sold"] += trade.price
            month["fees"] += trade.fee
            month["accrued_sold"] += trade.accrued_interest
            month["gains"] += trade.realised_gain
        if trade.buyer_id == lender_id:
            month["bought"] += trade.price
            month["accrued_bought"] += trade.accrued_interest
    return result


def charge_offs_by_month(session, lender_id: int) -> dict[str, Decimal]:
    """Principal written off the lender's notes (the ones they hold now), by month."""
    notes = select(Investment.id).where(Investment.lender_id == lender_id)
    rows = session.execute(
        select(JournalEntry.effective_date, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(JournalEntry.kind == "charge_off", LedgerAccount.investment_id.in_(notes))
    )
    result: dict[str, Decimal] = defaultdict(Decimal)
    for when, amount in rows:
        result[month_of(when)] += amount
    return result


def notes_outstanding(session, lender_id: int) -> Decimal:
    """What the lender's notes still have outstanding now, as the notes themselves say."""
    notes = session.scalars(select(Investment).where(Investment.lender_id == lender_id))
    return sum((note.principal_outstanding for note in notes), ZERO)
