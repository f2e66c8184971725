"""A buyer's side of the secondary market: buy a listed note, atomically, once per key.

Python prices the note from a plain read (`pricing`); one call of `buy_note` (migration 0035)
then takes the locks in the trade's one order (the listing, the loan FOR SHARE, the note, the
buyer's cash), checks that nothing the price was made from has moved and that the buyer may
buy, and writes the trade, the key, the audit row, the seller's notice and, last, the ledger
entry (buyer cash → seller cash, the fee → revenue), whose accounts are the hottest rows.
A refusal writes nothing; its message is made here from the function's answer.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from app.models import (
    AccountKind,
    Investment,
    LedgerAccount,
    Loan,
    NoteListing,
    NoteTrade,
    ServicingStatus,
)
from app.services.errors import DomainError, InsufficientFunds, TradeConflict
from app.services.lending import investing
from app.services.money import idempotency, ledger
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.trading import book, pricing

SCOPE = "note_trade"
BUY = text("""
SELECT * FROM buy_note(
    p_buyer => :buyer, p_listing => :listing, p_key => :key, p_scope => :scope,
    p_hash => :hash, p_status => :status, p_loan_version => :loan_version,
    p_principal => :principal, p_accrued => :accrued, p_markup => :markup,
    p_premium => :premium, p_price => :price, p_fee => :fee, p_cap => :cap, p_share => :share,
    p_today => :today, p_now => :now, p_buyer_cash => :buyer_cash,
    p_seller_cash => :seller_cash, p_revenue => :revenue, p_strategy => :strategy,
    p_reason => :reason, p_ip => CAST(:ip AS inet), p_agent => :agent, p_emailed => :emailed,
    p_title => :title, p_body => :body)
""")


@dataclass(frozen=True)
class _Priced:
    """A listing as read without locks, and its price today."""

    listing_id: int
    seller_id: int
    note_id: int
    loan_id: int
    status: ServicingStatus
    loan_version: datetime
    quote: pricing.Quote


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
    strategy_id: int | None = None,
    reason: str | None = None,
) -> NoteTrade:
    """Buy the note of `listing_id` at the price and loan state the buyer was shown.

    Refused (nothing written) when it was sold or withdrawn, when the price or the loan's
    state differ from what the buyer saw, or when the buyer's cash, per-loan cap or
    suitability limit do not allow it. The same key twice returns the first trade.
    """
    request = {"listing_id": listing_id, "price": str(expected_price)}
    idempotency.check_key(idempotency_key)
    priced = _priced(session, listing_id, today, policy)
    shown = ServicingStatus(expected_status)
    if priced is None or priced.status is not shown or priced.quote.price != expected_price:
        if earlier := _earlier(session, buyer_id, idempotency_key, request):
            return earlier
        raise _stale(session, listing_id, priced, expected_price, shown)
    now = datetime.now(UTC)
    arguments = _arguments(session, priced, buyer_id, idempotency_key, request, today, now, policy)
    answer = session.execute(BUY, arguments | {"strategy": strategy_id, "reason": reason}).one()
    if answer.code != "done":
        if earlier := _earlier(session, buyer_id, idempotency_key, request):
            return earlier
        raise _refusal(session, answer, priced, buyer_id, policy)
    _expire(session, priced, arguments)
    trade = _trade(answer, priced, buyer_id, today, now, strategy_id, reason)
    session.add(trade)  # persistent, as written, without reading it back
    return trade


def _priced(session: Session, listing_id: int, today: date, policy) -> _Priced | None:
    """The listing, if it still describes its note, priced for `today` (two queries)."""
    row = session.execute(
        select(
            NoteListing.id,
            NoteListing.seller_id,
            NoteListing.markup_percent,
            Investment.id,
            Investment.amount,
            Investment.principal_outstanding,
            Loan.id,
            Loan.funded_amount,
            Loan.servicing_status,
            Loan.updated_at,
        )
        .select_from(NoteListing)
        .join(Investment, Investment.id == NoteListing.investment_id)
        .join(Loan, Loan.id == Investment.loan_id)
        .where(NoteListing.id == listing_id)
    ).first()
    if row is None:
        return None
    listing, seller, markup, note, amount, principal, loan, funded, status, version = row
    installments = book.open_installments(session, [loan])[loan]
    quote = pricing.note_quote(
        principal=principal,
        share=pricing.note_share(amount, funded),
        installments=installments,
        as_of=today,
        markup_percent=markup,
        fee_percent=policy.trading_fee_percent,
    )
    return _Priced(listing, seller, note, loan, status, version, quote)


def _arguments(session, priced: _Priced, buyer_id, key, request, today, now, policy) -> dict:
    buyer_cash, seller_cash, revenue = ledger.account_ids(
        session,
        (AccountKind.LENDER_CASH, {"owner_id": buyer_id}),
        (AccountKind.LENDER_CASH, {"owner_id": priced.seller_id}),
        (AccountKind.FEE_REVENUE, {}),
    )
    quote = priced.quote
    ip, agent = activity.current_client()
    return {
        "buyer": buyer_id,
        "listing": priced.listing_id,
        "key": key,
        "scope": SCOPE,
        "hash": idempotency.request_hash(request),
        "status": priced.status.value,
        "loan_version": priced.loan_version,
        "principal": quote.principal,
        "accrued": quote.accrued_interest,
        "markup": quote.markup_percent,
        "premium": quote.premium,
        "price": quote.price,
        "fee": quote.fee,
        "cap": policy.max_investment_per_loan,
        "share": policy.suitability_percent_of_net_worth,
        "today": today,
        "now": now,
        "buyer_cash": buyer_cash,
        "seller_cash": seller_cash,
        "revenue": revenue,
        "ip": ip,
        "agent": agent,
        "emailed": notifications.emailing(),
        "title": "Your note sold",
        "body": f"Your note in loan #{priced.loan_id} sold for ${quote.price:,.2f}; after the "
        f"${quote.fee:,.2f} trading fee, ${quote.proceeds:,.2f} is in your cash.",
    }


def _earlier(session, buyer_id: int, key: str, request: dict) -> NoteTrade | None:
    """The trade an earlier request with this key made; a different request under the same
    key is refused (IdempotencyMismatch)."""
    record = idempotency.existing(session, buyer_id, key, SCOPE, request)
    return session.get(NoteTrade, record.resource_id) if record is not None else None


def _stale(session, listing_id: int, priced: _Priced | None, expected_price, shown) -> DomainError:
    if priced is None:
        return DomainError("No such listing.")
    listing = session.get(NoteListing, listing_id)
    if listing.status.value != "listed":
        return TradeConflict(f"This note is no longer for sale ({_gone(listing)}).")
    if priced.status is not shown:
        return TradeConflict(
            f"The loan is now {book.STATUS_LABELS[priced.status].lower()} (you saw "
            f"{book.STATUS_LABELS[shown].lower()}). Look at it again before you buy."
        )
    return TradeConflict(
        f"The price is now ${priced.quote.price:,.2f} (you saw ${expected_price:,.2f}): "
        "interest accrues daily and payments lower the principal. Look at it again before "
        "you buy."
    )


def _gone(listing: NoteListing) -> str:
    if listing.status.value == "sold":
        return "sold"
    if listing.status.value == "cancelled":
        return "withdrawn by the seller"
    return listing.end_reason or "ended"


def _refusal(session, answer, priced: _Priced, buyer_id: int, policy) -> DomainError:
    code, detail = answer.code, answer.detail
    if code == "missing":
        return DomainError("No such listing.")
    if code == "gone":
        return TradeConflict(f"This note is no longer for sale ({detail}).")
    if code == "own":
        return DomainError("You cannot buy your own note.")
    if code == "ended":
        label = book.STATUS_LABELS.get(ServicingStatus(detail), detail)
        return TradeConflict(f"This note is no longer for sale: the loan is {label.lower()}.")
    if code == "state":
        return TradeConflict(
            f"The loan is now {book.STATUS_LABELS[ServicingStatus(detail)].lower()}. "
            "Look at it again before you buy."
        )
    if code == "price":
        return TradeConflict(
            "A payment has just changed this note's price. Look at it again before you buy."
        )
    if code == "inactive":
        return DomainError(
            "This account is suspended." if detail == "lender" else "Only lenders can buy notes."
        )
    if code == "cash":
        return InsufficientFunds(
            f"The price is ${priced.quote.price:,.2f} and you have ${Decimal(detail):,.2f} "
            "available.",
            field="price",
        )
    if code == "cap":
        return DomainError(
            f"You may hold at most ${policy.max_investment_per_loan:,.2f} of one loan; you "
            f"hold ${Decimal(detail):,.2f} of this one."
        )
    room = investing.suitability(session, buyer_id, policy)
    return investing.suitability_refusal(room, priced.quote.price, policy) or DomainError(
        "This purchase is not possible now."
    )


def _expire(session: Session, priced: _Priced, arguments: dict) -> None:
    """What the function changed, as the session may hold it."""
    for model, object_id in (
        (NoteListing, priced.listing_id),
        (Investment, priced.note_id),
        (LedgerAccount, arguments["buyer_cash"]),
        (LedgerAccount, arguments["seller_cash"]),
        (LedgerAccount, arguments["revenue"]),
    ):
        investing.expire(session, model, object_id)


def _trade(answer, priced: _Priced, buyer_id, today, now, strategy_id, reason) -> NoteTrade:
    """The trade as its row reads, without reading it back."""
    quote = priced.quote
    trade = NoteTrade(
        id=answer.trade_id,
        listing_id=priced.listing_id,
        investment_id=priced.note_id,
        seller_id=priced.seller_id,
        buyer_id=buyer_id,
        trade_date=today,
        principal=quote.principal,
        accrued_interest=quote.accrued_interest,
        markup_percent=quote.markup_percent,
        premium=quote.premium,
        price=quote.price,
        fee=quote.fee,
        seller_cost_premium=answer.cost_premium,
        realised_gain=quote.premium - quote.fee - answer.cost_premium,
        seller_held_since=answer.held_since,
        traded_at=now,
        journal_entry_id=answer.entry_id,
        strategy_id=strategy_id,
        buy_reason=reason,
    )
    make_transient_to_detached(trade)
    return trade
