"""A seller's side of the secondary market: offer notes, preview a slice, withdraw, and the
daily end of listings whose loan changed."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import (
    Investment,
    InvestmentStatus,
    ListingStatus,
    Loan,
    NoteListing,
    ServicingStatus,
)
from app.services.errors import DomainError, TradeConflict, ValidationFailed
from app.services.money.money import ZERO
from app.services.platform import activity
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.trading import book, pricing


@dataclass(frozen=True)
class SliceFilter:
    """Which of a lender's notes a bulk sale takes (empty: any)."""

    grades: tuple[str, ...] = ()
    loan_statuses: tuple[str, ...] = ()
    note_ids: tuple[int, ...] = ()


@dataclass
class SlicePreview:
    """The notes a bulk sale would list, at what price, and those it would leave out."""

    quotes: list[tuple[Investment, pricing.Quote]] = field(default_factory=list)
    skipped: list[tuple[Investment, str]] = field(default_factory=list)

    @property
    def total_price(self) -> Decimal:
        return sum((quote.price for _, quote in self.quotes), ZERO)

    @property
    def total_fees(self) -> Decimal:
        return sum((quote.fee for _, quote in self.quotes), ZERO)

    @property
    def total_proceeds(self) -> Decimal:
        return self.total_price - self.total_fees


def check_markup(markup_percent: Decimal, policy: LendingPolicy) -> None:
    low, high = policy.trade_markup_percent
    if not isinstance(markup_percent, Decimal) or not (low <= markup_percent <= high):
        raise ValidationFailed(
            {"markup_percent": f"The markup must be between {low}% and {high}%."}
        )
    if markup_percent != markup_percent.quantize(Decimal("0.01")):
        raise ValidationFailed({"markup_percent": "Give the markup to at most 2 decimal places."})


def list_note(
    session: Session,
    *,
    seller_id: int,
    investment_id: int,
    markup_percent: Decimal,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> NoteListing:
    """Offer one whole note for sale."""
    check_markup(markup_percent, policy)
    note = session.get(Investment, investment_id, with_for_update=True, populate_existing=True)
    if note is None or note.lender_id != seller_id:
        raise DomainError("You do not hold this note.", field="investment_id")
    loan = session.get(Loan, note.loan_id)
    reason = book.why_not_tradeable(note, loan)
    if reason:
        raise DomainError(f"This note cannot be sold: {reason}.", field="investment_id")
    return _insert(session, note, loan, markup_percent)


def _insert(session: Session, note: Investment, loan: Loan, markup: Decimal) -> NoteListing:
    listing = NoteListing(
        investment_id=note.id,
        seller_id=note.lender_id,
        markup_percent=markup,
        listed_loan_status=loan.servicing_status,
    )
    try:
        with session.begin_nested():
            session.add(listing)
            session.flush()
    except IntegrityError as error:
        raise DomainError(f"Note #{note.id} is already for sale.", field="investment_id") from error
    activity.record(
        session,
        "note.listed",
        user_id=note.lender_id,
        entity=listing,
        note_id=note.id,
        markup_percent=str(markup),
    )
    return listing


def preview_slice(
    session: Session,
    *,
    seller_id: int,
    wanted: SliceFilter,
    markup_percent: Decimal,
    as_of: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> SlicePreview:
    """What listing a slice of the portfolio at one markup would offer, note by note."""
    check_markup(markup_percent, policy)
    preview = SlicePreview()
    notes = _slice(session, seller_id, wanted)
    loans = {loan.id: loan for loan in _loans(session, notes)}
    schedules = book.open_installments(session, list(loans))
    live = _listed_note_ids(session, [note.id for note in notes])
    for note in notes:
        loan = loans[note.loan_id]
        reason = book.why_not_tradeable(note, loan)
        if note.id in live:
            reason = "already for sale"
        if reason:
            preview.skipped.append((note, reason))
            continue
        quote = book.note_quote(note, loan, schedules[loan.id], markup_percent, as_of, policy)
        preview.quotes.append((note, quote))
    return preview


def list_slice(
    session: Session,
    *,
    seller_id: int,
    wanted: SliceFilter,
    markup_percent: Decimal,
    as_of: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> tuple[list[NoteListing], SlicePreview]:
    """List every note of the slice that can be sold (those that cannot are reported)."""
    preview = preview_slice(
        session,
        seller_id=seller_id,
        wanted=wanted,
        markup_percent=markup_percent,
        as_of=as_of,
        policy=policy,
    )
    listings = [
        list_note(
            session,
            seller_id=seller_id,
            investment_id=note.id,
            markup_percent=markup_percent,
            policy=policy,
        )
        for note, _ in preview.quotes
    ]
    return listings, preview


def _slice(session: Session, seller_id: int, wanted: SliceFilter) -> list[Investment]:
    query = (
        select(Investment)
        .join(Loan, Loan.id == Investment.loan_id)
        .where(Investment.lender_id == seller_id, Investment.status == InvestmentStatus.ACTIVE)
        .order_by(Investment.id)
    )
    if wanted.grades:
        query = query.where(Loan.risk_grade.op("~")(f"^[{''.join(wanted.grades)}]"))
    if wanted.loan_statuses:
        query = query.where(Loan.servicing_status.in_(wanted.loan_statuses))
    if wanted.note_ids:
        query = query.where(Investment.id.in_(wanted.note_ids))
    return list(session.scalars(query))


def _loans(session: Session, notes: list[Investment]) -> list[Loan]:
    ids = {note.loan_id for note in notes}
    return list(session.scalars(select(Loan).where(Loan.id.in_(ids)))) if ids else []


def _listed_note_ids(session: Session, note_ids: list[int]) -> set[int]:
    if not note_ids:
        return set()
    return set(
        session.scalars(
            select(NoteListing.investment_id).where(
                NoteListing.investment_id.in_(note_ids),
                NoteListing.status == ListingStatus.LISTED,
            )
        )
    )


def sellable(session: Session, limit: int, excluding: int | None = None) -> list[tuple[int, int]]:
    """(note id, owner id) of the newest active notes in current loans: what can be listed."""
    return [
        tuple(row)
        for row in session.execute(
            select(Investment.id, Investment.lender_id)
            .join(Loan, Loan.id == Investment.loan_id)
            .where(
                Investment.status == InvestmentStatus.ACTIVE,
                Loan.servicing_status == ServicingStatus.CURRENT,
                Investment.lender_id != (excluding or 0),
            )
            .order_by(Investment.id.desc())
            .limit(limit)
        )
    ]


def cancel(session: Session, *, seller_id: int, listing_id: int) -> NoteListing:
    """Withdraw a listing. A buyer who got there first wins: then this refuses."""
    listing = session.get(NoteListing, listing_id, with_for_update=True, populate_existing=True)
    if listing is None or listing.seller_id != seller_id:
        raise DomainError("No such listing of yours.")
    if listing.status is not ListingStatus.LISTED:
        raise TradeConflict(f"This listing is already {listing.status.value}.")
    listing.status, listing.ended_at = ListingStatus.CANCELLED, datetime.now(UTC)
    listing.end_reason = "withdrawn by the seller"
    activity.record(session, "note.listing_cancelled", user_id=seller_id, entity=listing)
    session.flush()
    return listing


END_STALE = text("""
UPDATE note_listings nl
   SET status = 'ended', ended_at = now(), updated_at = now(),
       end_reason = CASE
           WHEN i.status <> 'active' OR l.servicing_status IN ('paid_off', 'charged_off')
               THEN 'the loan was ' || replace(l.servicing_status, '_', ' ')
           WHEN i.lender_id <> nl.seller_id THEN 'the note changed hands'
           ELSE 'the loan''s status worsened to ' || replace(l.servicing_status, '_', ' ') END
  FROM investments i JOIN loans l ON l.id = i.loan_id
 WHERE nl.status = 'listed' AND i.id = nl.investment_id
   AND (i.status <> 'active' OR i.lender_id <> nl.seller_id
        OR l.servicing_status NOT IN ('current', 'grace', 'late_16_30', 'late_31_120')
        OR array_position(:order, l.servicing_status)
           > array_position(:order, nl.listed_loan_status))
RETURNING nl.id
""")


def end_stale(session: Session) -> int:
    """End every listing whose note or loan is no longer what was listed (set-based: the daily
    cycle runs it after statuses move). A purchase checks the same again."""
    order = [status.value for status in book.STATUS_ORDER]
    return len(session.execute(END_STALE, {"order": order}).all())
