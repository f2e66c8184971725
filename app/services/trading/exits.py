"""Leaving the platform: every note listed at par or one discount, and kept listed.

An exit lists each of the lender's notes that can be sold; the hourly sweep lists the ones
that become sellable later (a late loan current again, a listing that ended) and closes the
exit once nothing is left to sell. What has sold and what remains is read from the notes and
trades, never kept as counters.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import (
    ExitStatus,
    Investment,
    InvestmentStatus,
    ListingStatus,
    NoteListing,
    NoteTrade,
    PortfolioExit,
)
from app.services.errors import DomainError, ValidationFailed
from app.services.money.money import ZERO
from app.services.platform import activity
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.trading import listings


@dataclass(frozen=True)
class ExitProgress:
    exit: PortfolioExit
    sold: int
    proceeds: Decimal
    listed: int
    remaining: int  # notes still held
    unsellable: int  # held, but their loans cannot be sold now (default, or worse than listed)


def start(
    session: Session,
    lender_id: int,
    markup_percent: Decimal,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> PortfolioExit:
    if markup_percent > 0:
        raise ValidationFailed({"markup_percent": "Sell at par (0) or at a discount."})
    listings.check_markup(markup_percent, policy)
    held = _held_count(session, lender_id)
    if not held:
        raise DomainError("You hold no notes to sell.")
    leaving = PortfolioExit(lender_id=lender_id, markup_percent=markup_percent, notes_at_start=held)
    try:
        with session.begin_nested():
            session.add(leaving)
            session.flush()
    except IntegrityError as error:
        raise DomainError("You are already selling your portfolio.") from error
    _list_the_rest(session, leaving, today, policy)
    activity.record(session, "portfolio.exit_started", user_id=lender_id, entity=leaving)
    return leaving


def cancel(session: Session, lender_id: int) -> PortfolioExit:
    """Stop the exit and withdraw what it listed and has not sold."""
    leaving = current(session, lender_id)
    if leaving is None:
        raise DomainError("You are not selling your portfolio.")
    for listing in session.scalars(
        select(NoteListing).where(
            NoteListing.seller_id == lender_id,
            NoteListing.status == ListingStatus.LISTED,
            NoteListing.created_at >= leaving.created_at,
        )
    ):
        listings.cancel(session, seller_id=lender_id, listing_id=listing.id)
    leaving.status, leaving.finished_at = ExitStatus.CANCELLED, datetime.now(UTC)
    activity.record(session, "portfolio.exit_cancelled", user_id=lender_id, entity=leaving)
    return leaving


def keep_listing(session: Session, today: date | None = None, policy=DEFAULT_POLICY) -> int:
    """The hourly pass: list what became sellable; close exits with nothing left."""
    today = today or date.today()
    listed = 0
    for leaving in session.scalars(
        select(PortfolioExit).where(PortfolioExit.status == ExitStatus.SELLING)
    ):
        listed += _list_the_rest(session, leaving, today, policy)
        if not _held_count(session, leaving.lender_id):
            leaving.status, leaving.finished_at = ExitStatus.DONE, datetime.now(UTC)
    return listed


def current(session: Session, lender_id: int) -> PortfolioExit | None:
    return session.scalar(
        select(PortfolioExit).where(
            PortfolioExit.lender_id == lender_id, PortfolioExit.status == ExitStatus.SELLING
        )
    )


def progress(session: Session, leaving: PortfolioExit) -> ExitProgress:
    sold, proceeds = session.execute(
        select(func.count(), func.coalesce(func.sum(NoteTrade.price - NoteTrade.fee), ZERO)).where(
            NoteTrade.seller_id == leaving.lender_id, NoteTrade.traded_at >= leaving.created_at
        )
    ).one()
    listed = session.scalar(
        select(func.count())
        .select_from(NoteListing)
        .where(
            NoteListing.seller_id == leaving.lender_id, NoteListing.status == ListingStatus.LISTED
        )
    )
    remaining = _held_count(session, leaving.lender_id)
    return ExitProgress(leaving, sold, proceeds, listed, remaining, remaining - listed)


def _list_the_rest(session, leaving: PortfolioExit, today: date, policy) -> int:
    preview = listings.preview_slice(
        session,
        seller_id=leaving.lender_id,
        wanted=listings.SliceFilter(),
        markup_percent=leaving.markup_percent,
        as_of=today,
        policy=policy,
    )
    for note, _ in preview.quotes:
        listings.list_note(
            session,
            seller_id=leaving.lender_id,
            investment_id=note.id,
            markup_percent=leaving.markup_percent,
            policy=policy,
        )
    return len(preview.quotes)


def _held_count(session: Session, lender_id: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Investment)
        .where(Investment.lender_id == lender_id, Investment.status == InvestmentStatus.ACTIVE)
    )
