"""Leaving the platform (every note listed at par or a discount, kept listed until sold) and
the diversification view's figures and warnings."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ExitStatus, ListingStatus, NoteListing, ServicingStatus
from app.services.errors import DomainError, ValidationFailed
from app.services.servicing import diversification
from app.services.trading import exits, market, trades
from tests.builders import issued_loan, key, lender

D = Decimal
TODAY = date.today()


@pytest.fixture()
def portfolio():
    """One lender holding notes in three loans; the third loan is 20 days late."""
    owner = lender(D("1500.00"))
    loans = []
    for amount in ("3000.00", "2000.00", "5000.00"):
        loan, _ = issued_loan(
            ["500.00", amount],
            issued_on=TODAY - timedelta(days=40),
            lenders=[owner, lender(D(amount))],
        )
        loans.append(loan)
    loans[2].servicing_status, loans[2].days_past_due = ServicingStatus.DEFAULT, 130
    db.session.flush()
    return owner, loans


def test_an_exit_lists_what_can_be_sold_and_reports_progress(portfolio):
    owner, loans = portfolio
    leaving = exits.start(db.session, owner.id, D("-2"), TODAY)
    listed = db.session.scalars(select(NoteListing).where(NoteListing.seller_id == owner.id)).all()
    assert len(listed) == 2 and all(item.markup_percent == D("-2.00") for item in listed)
    buyer = lender(D("2000.00"))
    offer = market.offer(db.session, listed[0].id, TODAY)
    trades.buy(
        db.session,
        buyer_id=buyer.id,
        listing_id=listed[0].id,
        expected_price=offer.quote.price,
        expected_status=offer.status,
        idempotency_key=key(),
        today=TODAY,
    )
    seen = exits.progress(db.session, leaving)
    assert (seen.sold, seen.listed, seen.remaining, seen.unsellable) == (1, 1, 2, 1)
    assert seen.proceeds == offer.quote.proceeds
    # The defaulted loan comes back: the hourly pass lists its note too.
    loans[2].servicing_status, loans[2].days_past_due = ServicingStatus.CURRENT, 0
    assert exits.keep_listing(db.session, TODAY) == 1
    assert exits.progress(db.session, leaving).unsellable == 0


def test_an_exit_sells_at_par_or_a_discount_once_and_cancelling_withdraws(portfolio):
    owner, _ = portfolio
    with pytest.raises(ValidationFailed):
        exits.start(db.session, owner.id, D("1"), TODAY)
    exits.start(db.session, owner.id, D("0"), TODAY)
    with pytest.raises(DomainError, match="already selling"):
        exits.start(db.session, owner.id, D("0"), TODAY)
    cancelled = exits.cancel(db.session, owner.id)
    assert cancelled.status is ExitStatus.CANCELLED
    statuses = db.session.scalars(
        select(NoteListing.status).where(NoteListing.seller_id == owner.id)
    ).all()
    assert statuses and set(statuses) == {ListingStatus.CANCELLED}


def test_the_concentration_view_adds_up_and_warns_about_a_large_loan(portfolio):
    owner, loans = portfolio
    view = diversification.concentration(db.session, owner.id)
    assert view.total == D("1500.00")  # three $500 notes, nothing repaid yet
    assert sum(share.amount for share in view.by_grade) == view.total
    assert sum(share.amount for share in view.by_term) == view.total
    assert [share.percent for share in view.top_loans] == [D("33.3")] * 3
    assert len(view.warnings) == 6  # each loan and each borrower is a third (> 5 %)
    assert f"Loan #{loans[0].id} is 33.3% of your notes" in " ".join(view.warnings)
