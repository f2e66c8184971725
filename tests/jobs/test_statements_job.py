"""The statements jobs: scheduled for the month (and year) before, idempotent, one email per
statement through a real SMTP server."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.background import jobs, scheduler
from app.extensions import db
from app.models import AccountStatement, Notification, OutboxMessage, StatementKind
from app.services.platform import outbox
from app.services.statements import pdfs as statement_pdfs
from tests.statement_book import small_book


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_schedule_asks_for_the_month_and_the_year_before():
    _, _, monthly = scheduler.SCHEDULE["monthly_statements"]
    _, _, yearly = scheduler.SCHEDULE["yearly_statements"]
    assert monthly(datetime(2026, 1, 1, 0, 5, tzinfo=UTC)) == {"month": "2025-12"}
    assert monthly(datetime(2026, 3, 31, tzinfo=UTC)) == {"month": "2026-02"}
    assert yearly(datetime(2026, 1, 1, tzinfo=UTC)) == {"year": 2025}


def test_rerunning_the_job_stores_and_emails_each_statement_once(smtp):
    me, _, loan = small_book()
    for attempt in range(2):  # the second run finds every statement already issued
        outbox.add(db.session, "issue_monthly_statements", {"month": "2025-04"},
                   dedupe_key=f"test-statements-{attempt}")  # fmt: skip
        jobs.relay()
        jobs.relay()  # the emails the first relay's job queued
    stored = db.session.scalars(
        select(AccountStatement).where(AccountStatement.period_start == datetime(2025, 4, 1).date())
    ).all()
    kinds = sorted((s.kind, s.user_id) for s in stored)
    assert (StatementKind.LENDER_MONTH, me.id) in kinds
    assert (StatementKind.BORROWER_MONTH, loan.borrower_id) in kinds
    assert len(kinds) == 3  # two lenders and the borrower
    assert _count(Notification, Notification.kind == "statement.ready") == 3
    subjects = sorted(m["Subject"] for _, m in smtp.messages if "statement" in m["Subject"])
    assert subjects == sorted(
        ["CommunityLend: Your statement for April 2025 is ready"] * 2
        + ["CommunityLend: Your loan statement for April 2025 is ready"]
    )


def test_the_yearly_job_issues_the_tax_package(smtp):
    me, _, loan = small_book()
    outbox.add(db.session, "issue_yearly_statements", {"year": 2025}, dedupe_key="test-year")
    jobs.relay()
    package = db.session.scalars(
        select(AccountStatement).where(
            AccountStatement.user_id == me.id, AccountStatement.kind == StatementKind.LENDER_YEAR
        )
    ).one()
    assert package.figures["gross_interest"] != "0.00"
    assert (
        _count(
            AccountStatement,
            AccountStatement.user_id == loan.borrower_id,
            AccountStatement.kind == StatementKind.BORROWER_YEAR,
        )
        == 1
    )


def test_the_issuing_job_queues_the_pdfs_and_the_drawing_jobs_draw_each_once():
    small_book()
    outbox.add(db.session, "issue_monthly_statements", {"month": "2025-04"}, dedupe_key="t-pdf")
    jobs.relay()  # the statements, and the jobs that draw their PDFs
    stored = db.session.scalars(select(AccountStatement)).all()
    assert len(stored) == 3 and all(s.pdf is None for s in stored)
    # One batch for the lenders' statements and one for the borrower's.
    assert _count(OutboxMessage, OutboxMessage.kind == "draw_statement_pdfs") == 2
    jobs.relay()
    db.session.expire_all()
    for statement in db.session.scalars(select(AccountStatement)):
        assert statement.pdf.startswith(b"%PDF-")
    assert statement_pdfs.draw_missing(db.session, [s.id for s in stored]) == 0  # kept


def test_a_tick_told_to_hold_the_statements_back_writes_them_once_let(no_redis):
    """The dev server holds statements back while its demo book replays the months."""
    from app.background.scheduler import STATEMENT_JOBS, tick

    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    tick(now, skip=STATEMENT_JOBS)
    statement_kinds = ("issue_monthly_statements", "issue_yearly_statements")
    assert _count(OutboxMessage, OutboxMessage.kind.in_(statement_kinds)) == 0
    assert tick(now) == 2  # once the book is in: the month before's and the year before's
    monthly = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "issue_monthly_statements")
    ).one()
    assert monthly.payload == {"month": "2026-11"}
