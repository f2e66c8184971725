"""The secondary market as buyers see it: notes for sale with today's price and yield."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Installment,
    Investment,
    InvestmentStatus,
    ListingStatus,
    Loan,
    NoteListing,
    ServicingStatus,
)
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.trading import book, pricing

CANDIDATES = 1000  # listings priced per page view at most, newest first, before the yield filter


@dataclass(frozen=True)
class MarketFilter:
    grades: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    min_yield: Decimal | None = None
    max_markup: Decimal | None = None
    max_remaining: int | None = None  # payments left
    limit: int = 50


@dataclass(frozen=True)
class Offer:
    """One listing as a buyer sees it today."""

    listing_id: int
    note_id: int
    loan_id: int
    seller_id: int
    borrower_id: int
    grade: str
    term_months: int
    interest_rate: Decimal
    purpose: str
    status: ServicingStatus
    days_past_due: int
    payments_left: int
    note_amount: Decimal
    quote: pricing.Quote
    yield_percent: Decimal | None
    listed_at: datetime
    modified: bool = False  # a hardship plan changed the loan's schedule

    @property
    def status_label(self) -> str:
        return book.STATUS_LABELS[self.status]

    @property
    def behind(self) -> bool:
        return self.status is not ServicingStatus.CURRENT


def live_listings():
    """Listings still describing their note: listed, the seller still holds it, and the loan
    no worse than when it was listed (the daily cycle ends the others)."""
    order = [status.value for status in book.STATUS_ORDER]
    return (
        select(NoteListing, Investment, Loan)
        .join(Investment, Investment.id == NoteListing.investment_id)
        .join(Loan, Loan.id == Investment.loan_id)
        .where(
            NoteListing.status == ListingStatus.LISTED,
            Investment.status == InvestmentStatus.ACTIVE,
            Investment.lender_id == NoteListing.seller_id,
            Loan.servicing_status.in_(book.TRADEABLE),
            func.array_position(order, Loan.servicing_status)
            <= func.array_position(order, NoteListing.listed_loan_status),
        )
    )


def offers(
    session: Session,
    wanted: MarketFilter,
    as_of: date,
    policy: LendingPolicy = DEFAULT_POLICY,
    *,
    seller_id: int | None = None,
) -> list[Offer]:
    """The notes for sale matching `wanted`, priced for `as_of`, best yield first."""
    query = live_listings().order_by(NoteListing.id.desc()).limit(CANDIDATES)
    if wanted.grades:
        query = query.where(func.left(Loan.risk_grade, 1).in_(wanted.grades))
    if wanted.statuses:
        query = query.where(Loan.servicing_status.in_(wanted.statuses))
    if wanted.max_markup is not None:
        query = query.where(NoteListing.markup_percent <= wanted.max_markup)
    if seller_id is not None:
        query = query.where(NoteListing.seller_id == seller_id)
    found = [
        offer
        for offer in _priced(session, session.execute(query).all(), as_of, policy)
        if _wanted(offer, wanted)
    ]
    found.sort(key=lambda offer: (offer.yield_percent is None, -(offer.yield_percent or 0)))
    return found[: wanted.limit]


def offer(
    session: Session, listing_id: int, as_of: date, policy: LendingPolicy = DEFAULT_POLICY
) -> Offer | None:
    """One live listing priced for `as_of`, or None when it is not for sale."""
    row = session.execute(live_listings().where(NoteListing.id == listing_id)).first()
    return _priced(session, [row], as_of, policy)[0] if row else None


def payment_history(session: Session, loan_id: int) -> list[Installment]:
    """The loan's installments, in order: what a buyer reads before buying."""
    return list(
        session.scalars(
            select(Installment).where(Installment.loan_id == loan_id).order_by(Installment.number)
        )
    )


def _priced(session, rows, as_of: date, policy: LendingPolicy) -> list[Offer]:
    schedules = book.open_installments(session, sorted({loan.id for _, _, loan in rows}))
    priced = []
    for listing, note, loan in rows:
        installments = schedules[loan.id]
        quote = book.note_quote(note, loan, installments, listing.markup_percent, as_of, policy)
        priced.append(
            Offer(
                listing_id=listing.id,
                note_id=note.id,
                loan_id=loan.id,
                seller_id=listing.seller_id,
                borrower_id=loan.borrower_id,
                grade=loan.risk_grade or "?",
                term_months=loan.term_months,
                interest_rate=loan.interest_rate,
                purpose=loan.purpose.value,
                status=loan.servicing_status,
                days_past_due=loan.days_past_due or 0,
                payments_left=len(installments),
                note_amount=note.amount,
                quote=quote,
                yield_percent=book.note_yield(note, loan, installments, quote.price, as_of, policy),
                listed_at=listing.created_at,
                modified=loan.modified,
            )
        )
    return priced


def _wanted(offer: Offer, wanted: MarketFilter) -> bool:
    if wanted.min_yield is not None and (offer.yield_percent or 0) < wanted.min_yield:
        return False
    return wanted.max_remaining is None or offer.payments_left <= wanted.max_remaining


def listings_of(session: Session, seller_id: int) -> list[NoteListing]:
    """A seller's listings, live first, then the most recent others."""
    return list(
        session.scalars(
            select(NoteListing)
            .where(NoteListing.seller_id == seller_id)
            .order_by((NoteListing.status == ListingStatus.LISTED).desc(), NoteListing.id.desc())
            .limit(200)
        )
    )
