"""The living demo book, built small: its money reconciles and it holds what a visitor expects."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.models import (
    Investment,
    InvestmentStatus,
    Loan,
    LoanStatus,
    Notification,
    OutboxMessage,
    Payment,
    User,
)
from app.services.lending import marketplace
from app.services.money import ledger
from app.services.servicing import servicing
from config import DEMO_EMAIL_DOMAIN
from seeds import book, demo

pytestmark = pytest.mark.committing
SIZE = book.BookSize(issued=30, open_listings=6, lenders=8, days=240)


def test_a_small_book_reconciles_and_shows_every_state(committed):
    demo.run(committed)
    emails = select(func.count()).where(OutboxMessage.kind == "send_email")
    emails_before = committed.scalar(emails)
    lines = book.run(committed, today=date.today(), size=SIZE)
    # Years of replayed notices stay in the app: none of them is emailed.
    assert committed.scalar(emails) == emails_before
    assert committed.scalar(select(func.count()).select_from(Notification)) > 100
    assert lines and "30 issued loans" in lines[0] and "6 open listings" in lines[0]
    assert ledger.verify(committed) == []
    issued = committed.scalars(
        select(Loan).where(Loan.status == LoanStatus.ISSUED, Loan.external_id.like("LC-%"))
    ).all()
    assert len(issued) == 30
    # Every loan's funding is exactly its notes; every issued loan's principal is its notes'.
    for loan in issued:
        notes = committed.scalars(select(Investment).where(Investment.loan_id == loan.id)).all()
        assert loan.funded_amount == sum(note.amount for note in notes)
        active = [note for note in notes if note.status is InvestmentStatus.ACTIVE]
        if active:
            assert loan.principal_outstanding == sum(n.principal_outstanding for n in active)
    states = {loan.servicing_status.value for loan in issued}
    assert {"current", "paid_off"} <= states, states  # (defaults: too few in 30 to count on)
    # The last two weeks' listings are open in the marketplace, part-funded.
    open_now = marketplace.search(committed, marketplace.Filters()).rows
    book_listings = [loan for loan in open_now if (loan.external_id or "").startswith("LC-")]
    assert len(book_listings) == 6
    assert all(0 < loan.funded_amount < loan.amount for loan in book_listings)
    assert all(loan.funding_deadline > datetime.now(UTC) for loan in book_listings)
    # The demo lender holds notes across grades.
    main = committed.scalar(select(User).where(User.email == f"lender@{DEMO_EMAIL_DOMAIN}"))
    grades = committed.scalars(
        select(func.distinct(func.left(Loan.risk_grade, 1)))
        .join(Investment, Investment.loan_id == Loan.id)
        .where(Investment.lender_id == main.id)
    ).all()
    assert len(grades) >= 2, grades
    # A second run changes nothing.
    entries = committed.scalar(select(func.count()).select_from(Investment))
    assert book.run(committed, size=SIZE) == []
    assert committed.scalar(select(func.count()).select_from(Investment)) == entries


def test_later_runs_list_new_applications_once_the_book_s_listings_have_closed(committed):
    demo.run(committed)
    book.run(committed, size=SIZE)
    assert book.top_up(committed, size=SIZE) == []  # all six still open
    # Three weeks on, the daily cycle has closed every listing of the build.
    servicing.run_cycle(committed, date.today() + timedelta(days=21))
    committed.commit()
    assert book._open_listings(committed) == 0
    lines = book.top_up(committed, size=SIZE)
    assert lines == ["Demo book: 6 new listings keep the marketplace full"]
    batch = f"LC-{date.today():%Y%m%d}-%"
    fresh = committed.scalars(select(Loan).where(Loan.external_id.like(batch))).all()
    listed = [loan for loan in fresh if loan.status is LoanStatus.LISTED]
    assert len(listed) == 6 and all(0 < loan.funded_amount < loan.amount for loan in listed)
    assert ledger.verify(committed) == []
    assert book.top_up(committed, size=SIZE) == []  # once a day


def test_later_runs_replay_the_days_since_so_the_book_does_not_turn_late(committed):
    demo.run(committed)
    built_on = date.today() - timedelta(days=30)
    book.run(committed, today=built_on, size=SIZE)
    assert book.catch_up(committed, today=built_on, size=SIZE) == []  # nothing missed yet
    lines = book.catch_up(committed, size=SIZE)
    assert lines == ["Demo book: 30 days since the last run replayed"]
    assert book.catch_up(committed, size=SIZE) == []  # caught up
    assert ledger.verify(committed) == []
    plans = book._recorded_plans(committed, built_on, SIZE)
    paid_since = committed.scalars(
        select(Payment.loan_id).where(Payment.received_on > built_on)
    ).all()
    assert paid_since, "30 days of installments were due; the borrowers paid none"
    on_time = [
        committed.get(Loan, loan_id)
        for loan_id, plan in plans.items()
        if plan.behaviour == "on_time" and plan.issues_on
    ]
    assert len(on_time) >= 10
    assert {loan.servicing_status.value for loan in on_time} <= {"current", "paid_off"}
