"""A buyer's side of the secondary market: buy a listed note, atomically, once per key.

One transaction, locks taken in one order (listing, loan FOR SHARE, note, buyer's cash):
the listing row decides between racing buyers and a withdrawing seller; the loan's row,
shared, keeps a payment from being shared out while the note changes hands (a payment locks
it for update); the buyer's cash row orders their own purchases. The ledger entry (buyer cash
→ seller cash, the fee → revenue) comes last: its accounts' rows are the hottest.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Investment,
    LedgerAccount,
    ListingStatus,
    Loan,
    NoteListing,
    NoteTrade,
    Role,
    ServicingStatus,
    User,
)
from app.services.accounts import accounts
from app.services.errors import DomainError, TradeConflict
from app.services.lending import investing
from app.services.money import idempotency, ledger
from app.services.money.money import ZERO
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.trading import book

SCOPE = "note_trade"


def buy(
    session: Session,
    *,
    buyer_id: int,
    listing_id: int,
    expected_price: Decimal,
    expected_status: ServicingStatus | str,
    idempotency_key: str,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> NoteTrade:
    """Buy the note of `listing_id` at the price and loan state the buyer was shown.

    Refused (nothing written) when it was sold or withdrawn, when the price or the loan's
    state differ from what the buyer saw, or when the buyer's cash, per-loan cap or
    suitability limit do not allow it. A listing whose loan got worse, or whose note is no
    longer the seller's to sell, is ended on the way.
    """
    request = {"listing_id": listing_id, "price": str(expected_price)}
    idempotency.check_key(idempotency_key)
    with session.begin_nested():  # a refusal takes back everything, the key's claim too
        earlier = idempotency.claim(session, buyer_id, idempotency_key, SCOPE, request)
        if earlier is not None:
            return session.get(NoteTrade, earlier.resource_id)
        listing, note, loan = _lock(session, listing_id, buyer_id)
        quote = _current_quote(session, listing, note, loan, today, policy)
        _check_shown(loan, quote.price, expected_price, ServicingStatus(expected_status))
        _check_buyer(session, buyer_id, note, quote.price, policy)
        trade = _settle(session, listing, note, loan, quote, buyer_id, today)
        idempotency.complete(session, buyer_id, idempotency_key, "note_trade", trade.id)
    _tell(session, trade, loan)
    return trade


def _lock(session: Session, listing_id: int, buyer_id: int):
    listing = session.get(NoteListing, listing_id, with_for_update=True, populate_existing=True)
    if listing is None:
        raise DomainError("No such listing.")
    if listing.status is not ListingStatus.LISTED:
        raise TradeConflict(f"This note is no longer for sale ({_gone(listing)}).")
    if listing.seller_id == buyer_id:
        raise DomainError("You cannot buy your own note.")
    loan_id = session.scalar(
        select(Investment.loan_id).where(Investment.id == listing.investment_id)
    )
    loan = session.scalars(
        select(Loan)
        .where(Loan.id == loan_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).one()
    note = session.get(
        Investment, listing.investment_id, with_for_update=True, populate_existing=True
    )
    return listing, note, loan


def _gone(listing: NoteListing) -> str:
    if listing.status is ListingStatus.SOLD:
        return "sold"
    if listing.status is ListingStatus.CANCELLED:
        return "withdrawn by the seller"
    return listing.end_reason or "ended"


def _current_quote(session, listing, note, loan, today, policy):
    """Today's price, or the end of a listing that no longer describes the note."""
    reason = book.why_not_tradeable(note, loan)
    if reason is None and note.lender_id != listing.seller_id:
        reason = "the note changed hands"
    if reason is None and book.worse(loan.servicing_status, listing.listed_loan_status):
        reason = f"the loan's status worsened to {book.STATUS_LABELS[loan.servicing_status]}"
    if reason:  # the daily cycle ends such a listing (listings.end_stale); the market hides it
        raise TradeConflict(f"This note is no longer for sale: {reason}.")
    installments = book.open_installments(session, [loan.id])[loan.id]
    return book.note_quote(note, loan, installments, listing.markup_percent, today, policy)


def _check_shown(loan: Loan, price: Decimal, expected_price: Decimal, shown) -> None:
    if loan.servicing_status is not shown:
        raise TradeConflict(
            f"The loan is now {book.STATUS_LABELS[loan.servicing_status].lower()} (you saw "
            f"{book.STATUS_LABELS[shown].lower()}). Look at it again before you buy."
        )
    if price != expected_price:
        raise TradeConflict(
            f"The price is now ${price:,.2f} (you saw ${expected_price:,.2f}): interest accrues "
            "daily and payments lower the principal. Look at it again before you buy."
        )


def _check_buyer(session, buyer_id: int, note: Investment, price: Decimal, policy) -> None:
    buyer = session.get(User, buyer_id)
    reason = accounts.inactive_reason(
        buyer.role if buyer else None,
        buyer is not None and buyer.is_active,
        Role.LENDER,
        "buy notes",
    )
    if reason:
        raise DomainError(reason)
    cash_code = ledger.account_code(AccountKind.LENDER_CASH, owner_id=buyer_id)
    available = session.scalar(
        select(LedgerAccount.balance).where(LedgerAccount.code == cash_code).with_for_update()
    )
    available = -(available or ZERO)
    if price > available:
        raise DomainError(
            f"The price is ${price:,.2f} and you have ${available:,.2f} available.", field="price"
        )
    held = investing.amount_held(session, buyer_id, note.loan_id)
    if held + note.amount > policy.max_investment_per_loan:
        raise DomainError(
            f"You may hold at most ${policy.max_investment_per_loan:,.2f} of one loan; you "
            f"hold ${held:,.2f} of this one and the note is ${note.amount:,.2f}."
        )
    refusal = investing.suitability_refusal(
        investing.suitability(session, buyer_id, policy), price, policy
    )
    if refusal:
        raise refusal


def _settle(session, listing, note, loan, quote, buyer_id: int, today: date) -> NoteTrade:
    seller_id = listing.seller_id
    cost_premium, held_since = _seller_basis(session, note)
    now = datetime.now(UTC)
    note.lender_id = buyer_id
    listing.status, listing.ended_at = ListingStatus.SOLD, now
    buyer_cash, seller_cash, revenue = ledger.account_ids(
        session,
        (AccountKind.LENDER_CASH, {"owner_id": buyer_id}),
        (AccountKind.LENDER_CASH, {"owner_id": seller_id}),
        (AccountKind.FEE_REVENUE, {}),
    )
    session.flush()
    entry = ledger.post(
        session,
        "note_trade",
        f"Note #{note.id} of loan #{loan.id} sold by lender {seller_id} to lender {buyer_id}",
        [
            ledger.Leg(buyer_cash, quote.price),
            ledger.Leg(seller_cash, -quote.proceeds),
            ledger.Leg(revenue, -quote.fee),
        ],
        idempotency_key=f"note_trade:{listing.id}",
        loan_id=loan.id,
        user_id=buyer_id,
        details={"listing_id": listing.id, "note_id": note.id, "seller_id": seller_id},
    )
    trade = NoteTrade(
        listing_id=listing.id,
        investment_id=note.id,
        seller_id=seller_id,
        buyer_id=buyer_id,
        trade_date=today,
        principal=quote.principal,
        accrued_interest=quote.accrued_interest,
        markup_percent=quote.markup_percent,
        premium=quote.premium,
        price=quote.price,
        fee=quote.fee,
        seller_cost_premium=cost_premium,
        realised_gain=quote.premium - quote.fee - cost_premium,
        seller_held_since=held_since,
        traded_at=now,
        journal_entry_id=entry.id,
    )
    session.add(trade)
    session.flush()
    return trade


def _seller_basis(session: Session, note: Investment) -> tuple[Decimal, datetime]:
    """What the seller paid over principal and accrued interest, and since when they hold it:
    their own purchase of this note, or (bought at issue) nothing, since they invested."""
    bought = session.execute(
        select(NoteTrade.premium, NoteTrade.traded_at)
        .where(NoteTrade.investment_id == note.id, NoteTrade.buyer_id == note.lender_id)
        .order_by(NoteTrade.traded_at.desc())
        .limit(1)
    ).first()
    if bought is None:
        return ZERO, note.created_at
    return bought.premium, bought.traded_at


def _tell(session: Session, trade: NoteTrade, loan: Loan) -> None:
    activity.record(
        session,
        "note.traded",
        user_id=trade.buyer_id,
        entity=trade,
        note_id=trade.investment_id,
        seller_id=trade.seller_id,
        price=str(trade.price),
    )
    notifications.notify(
        session,
        trade.seller_id,
        "note_sold",
        "Your note sold",
        f"Your note in loan #{loan.id} sold for ${trade.price:,.2f}; after the "
        f"${trade.fee:,.2f} trading fee, ${trade.price - trade.fee:,.2f} is in your cash.",
        link=("lender.trades", {}),
        dedupe_key=f"note_sold:{trade.id}",
        data={"price": f"{trade.price:.2f}", "fee": f"{trade.fee:.2f}"},
    )
