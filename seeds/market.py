"""The demo's secondary market and strategies: some notes of the book's lenders for sale at
a spread of markups, and a paused preset strategy for the demo lender to look at and start."""

import random
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import InvestStrategy, ListingStatus, NoteListing, User
from app.services.lending import strategies
from app.services.trading import listings
from config import DEMO_EMAIL_DOMAIN

DEMO_LENDER = f"lender@{DEMO_EMAIL_DOMAIN}"
FOR_SALE = 40
MARKUPS = ("-5", "-2.5", "-1", "0", "0", "0.5", "1.5", "3")


def run(session: Session, today: date | None = None) -> list[str]:
    """Once the book is built: list notes if nothing is for sale, and give the demo lender a
    paused strategy if they have none. Through the services, so the rules hold."""
    today = today or date.today()
    lender = session.scalar(select(User).where(User.email == DEMO_LENDER))
    lines = []
    if not session.scalar(
        select(NoteListing.id).where(NoteListing.status == ListingStatus.LISTED).limit(1)
    ):
        listed = _list_some(
            session, lender.id if lender else None, random.Random(today.toordinal())
        )
        lines.append(f"Secondary market: {listed} notes listed for sale")
    if lender and not session.scalar(
        select(InvestStrategy.id).where(InvestStrategy.lender_id == lender.id).limit(1)
    ):
        strategies.from_preset(
            session, lender.id, "balanced", name="Balanced (paused)", enabled=False
        )
        lines.append("Auto-invest: a paused Balanced strategy for the demo lender")
    session.commit()
    return lines


def _list_some(session: Session, demo_lender_id: int | None, rng: random.Random) -> int:
    notes = listings.sellable(session, FOR_SALE, excluding=demo_lender_id)
    for note_id, owner_id in notes:
        listings.list_note(
            session,
            seller_id=owner_id,
            investment_id=note_id,
            markup_percent=Decimal(rng.choice(MARKUPS)),
        )
    return len(notes)
