"""A buyer's side of the secondary market: buy a listed note, atomically, once per key.

One call of `buy_note` (migrations 0035, 0036): it locks in the trade's one order (the listing,
the loan FOR SHARE, the note, the buyer's cash), prices the note with `note_quote` (the rules
of `pricing.py`, in SQL, held to the cent by a test), refuses unless the price and the loan's
state are what the buyer was shown and the buyer may buy, and only then writes the trade, the
key, the audit row, the seller's notice and, last, the ledger entry (buyer cash → seller cash,
the fee → revenue), whose accounts are the hottest rows. A refusal writes nothing; its message
is made here from the function's answer.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session, make_transient_to_detached

from app.models import Investment, LedgerAccount, NoteListing, NoteTrade, ServicingStatus
from app.services.errors import DomainError, InsufficientFunds, TradeConflict
from app.services.lending import investing
from app.services.money import idempotency
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.trading import book

SCOPE = "note_trade"
BUY = text("""
SELECT * FROM buy_note(
    p_buyer => :buyer, p_listing => :listing, p_key => :key, p_scope => :scope,
    p_hash => :hash, p_status => :status, p_price => :price, p_fee_percent => :fee_percent,
    p_cap => :cap, p_share => :share, p_today => :today, p_now => :now,
    p_strategy => :strategy, p_reason => :reason, p_ip => CAST(:ip AS inet), p_agent => :agent,
    p_emailed => :emailed)
""")


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
    shown = ServicingStatus(expected_status)
    now = datetime.now(UTC)
    ip, agent = activity.current_client()
    answer = session.execute(
        BUY,
        {
            "buyer": buyer_id,
            "listing": listing_id,
            "key": idempotency_key,
            "scope": SCOPE,
            "hash": idempotency.request_hash(request),
            "status": shown.value,
            "price": expected_price,
            "fee_percent": policy.trading_fee_percent,
            "cap": policy.max_investment_per_loan,
            "share": policy.suitability_percent_of_net_worth,
            "today": today,
            "now": now,
            "strategy": strategy_id,
            "reason": reason,
            "ip": ip,
            "agent": agent,
            "emailed": notifications.emailing(),
        },
    ).one()
    if answer.code != "done":
        if earlier := _earlier(session, buyer_id, idempotency_key, request):
            return earlier
        raise _refusal(session, answer, expected_price, shown, buyer_id, policy)
    _expire(session, answer, listing_id, buyer_id)
    trade = _trade(answer, listing_id, buyer_id, today, now, strategy_id, reason)
    session.add(trade)  # persistent, as written, without reading it back
    return trade


def _earlier(session, buyer_id: int, key: str, request: dict) -> NoteTrade | None:
    """The trade an earlier request with this key made; a different request under the same
    key is refused (IdempotencyMismatch)."""
    record = idempotency.existing(session, buyer_id, key, SCOPE, request)
    return session.get(NoteTrade, record.resource_id) if record is not None else None


def _refusal(session, answer, expected_price, shown, buyer_id: int, policy) -> DomainError:
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
            f"The loan is now {book.STATUS_LABELS[ServicingStatus(detail)].lower()} (you saw "
            f"{book.STATUS_LABELS[shown].lower()}). Look at it again before you buy."
        )
    if code == "price":
        return TradeConflict(
            f"The price is now ${Decimal(detail):,.2f} (you saw ${expected_price:,.2f}): "
            "interest accrues daily and payments lower the principal. Look at it again "
            "before you buy."
        )
    if code == "inactive":
        return DomainError(
            "This account is suspended." if detail == "lender" else "Only lenders can buy notes."
        )
    if code == "cash":
        return InsufficientFunds(
            f"The price is ${answer.price:,.2f} and you have ${Decimal(detail):,.2f} available.",
            field="price",
        )
    if code == "cap":
        return DomainError(
            f"You may hold at most ${policy.max_investment_per_loan:,.2f} of one loan; you "
            f"hold ${Decimal(detail):,.2f} of this one."
        )
    room = investing.suitability(session, buyer_id, policy)
    return investing.suitability_refusal(room, answer.price, policy) or DomainError(
        "This purchase is not possible now."
    )


def _expire(session: Session, answer, listing_id: int, buyer_id: int) -> None:
    """What the function changed, as the session may hold it."""
    investing.expire(session, NoteListing, listing_id)
    investing.expire(session, Investment, answer.note_id)
    codes = {f"lender:{buyer_id}:cash", f"lender:{answer.seller_id}:cash"}
    for held in list(session.identity_map.values()):
        if isinstance(held, LedgerAccount) and (
            held.code in codes or held.code.startswith("platform:fee_revenue:trading:")
        ):
            session.expire(held, ["balance"])


def _trade(answer, listing_id: int, buyer_id, today, now, strategy_id, reason) -> NoteTrade:
    """The trade as its row reads, without reading it back."""
    trade = NoteTrade(
        id=answer.trade_id,
        listing_id=listing_id,
        investment_id=answer.note_id,
        seller_id=answer.seller_id,
        buyer_id=buyer_id,
        trade_date=today,
        principal=answer.principal,
        accrued_interest=answer.accrued,
        markup_percent=answer.markup,
        premium=answer.premium,
        price=answer.price,
        fee=answer.fee,
        seller_cost_premium=answer.cost_premium,
        realised_gain=answer.premium - answer.fee - answer.cost_premium,
        seller_held_since=answer.held_since,
        traded_at=now,
        journal_entry_id=answer.entry_id,
        strategy_id=strategy_id,
        buy_reason=reason,
    )
    make_transient_to_detached(trade)
    return trade
