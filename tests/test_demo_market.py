"""The demo's secondary market: notes for sale and a paused strategy, made once."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import InvestStrategy, ListingStatus, NoteListing, User
from seeds import market
from seeds import run as seed_people
from tests.builders import issued_loan


def test_the_demo_lists_notes_and_gives_the_demo_lender_a_paused_strategy_once():
    seed_people(db.session)
    issued_loan(["500.00", "1500.00", "8000.00"], issued_on=date.today() - timedelta(days=20))
    lines = market.run(db.session)
    listed = db.session.scalars(select(NoteListing)).all()
    assert 3 <= len(listed) <= market.FOR_SALE
    assert lines[0] == f"Secondary market: {len(listed)} notes listed for sale"
    assert {item.status for item in listed} == {ListingStatus.LISTED}
    assert all(Decimal("-5") <= item.markup_percent <= Decimal("3") for item in listed)
    lender = db.session.scalar(select(User).where(User.email == market.DEMO_LENDER))
    (strategy,) = db.session.scalars(
        select(InvestStrategy).where(InvestStrategy.lender_id == lender.id)
    ).all()
    assert strategy.enabled is False and strategy.preset == "balanced"
    assert market.run(db.session) == []
    assert db.session.scalar(select(func.count()).select_from(NoteListing)) == len(listed)
    assert lender.id not in {item.seller_id for item in listed}
