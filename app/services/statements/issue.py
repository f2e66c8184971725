"""Issuing a period's statements: every user's figures computed at once, each statement
checked, then all stored in one INSERT (a rerun stores nothing twice) and announced in one
INSERT of notifications and one of their emails."""

from datetime import UTC, datetime

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session
from sqlalchemy.types import Integer, Text

from app.models import StatementKind
from app.services.platform import notifications
from app.services.statements import borrower, lender_month, pdfs, periods, render, tax
from app.services.statements.periods import Period

STORE = text("""
INSERT INTO account_statements (user_id, kind, period_start, period_end, figures, csv,
                                created_at)
SELECT s.user_id, :kind, :start, :end, s.figures, s.csv, :now
  FROM unnest(:users, :figures, :csvs) AS s (user_id, figures, csv)
ON CONFLICT (user_id, kind, period_start) DO NOTHING
RETURNING id, user_id
""").bindparams(
    bindparam("users", type_=ARRAY(Integer)),
    bindparam("figures", type_=ARRAY(JSONB)),
    bindparam("csvs", type_=ARRAY(Text)),
)

ANNOUNCE = text("""
WITH made AS (
    INSERT INTO notifications (user_id, kind, title, body, link_endpoint, link_args, data,
                               dedupe_key, created_at)
    SELECT n.user_id, 'statement.ready', :title, :body, 'auth.statement_show',
           jsonb_build_object('statement_id', n.id), jsonb_build_object('statementId', n.id),
           'statement:' || n.id, :now
      FROM unnest(:ids, :users) AS n (id, user_id)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, user_id
)
INSERT INTO outbox_messages (kind, payload, dedupe_key, status, attempts, max_attempts, user_id,
                             progress, created_at, available_at)
SELECT 'send_email', jsonb_build_object('notification_id', id), 'email-' || id, 'pending', 0, 5,
       user_id, 0, :now, :now
  FROM made WHERE :emailed
""").bindparams(bindparam("ids", type_=ARRAY(Integer)), bindparam("users", type_=ARRAY(Integer)))

TITLES = {
    StatementKind.LENDER_MONTH: "Your statement for {label} is ready",
    StatementKind.BORROWER_MONTH: "Your loan statement for {label} is ready",
    StatementKind.LENDER_YEAR: "Your {label} tax documents are ready",
    StatementKind.BORROWER_YEAR: "Your {label} interest statement is ready",
}


def issue_month(session: Session, period: Period) -> dict[str, int]:
    """Every lender's and borrower's statement for the month `period`; how many were new."""
    lenders = lender_month.figures(session, period)
    borrowers = borrower.month_figures(session, period)
    for borrower_id, figures in borrowers.items():
        borrower.check_month(borrower_id, figures)
    label = periods.month_label(period.start)
    return {
        "lender": _store(session, StatementKind.LENDER_MONTH, period, lenders, label),
        "borrower": _store(session, StatementKind.BORROWER_MONTH, period, borrowers, label),
    }


def issue_year(session: Session, period: Period) -> dict[str, int]:
    """Every lender's tax package and borrower's interest statement for the year `period`."""
    label = str(period.start.year)
    lenders = tax.figures(session, period)
    borrowers = borrower.year_figures(session, period)
    return {
        "lender": _store(session, StatementKind.LENDER_YEAR, period, lenders, label),
        "borrower": _store(session, StatementKind.BORROWER_YEAR, period, borrowers, label),
    }


def _store(
    session: Session, kind: StatementKind, period: Period, rows: dict[int, dict], label: str
) -> int:
    users = sorted(rows)
    now = datetime.now(UTC)
    stored = session.execute(
        STORE,
        {
            "kind": kind.value,
            "start": period.start,
            "end": period.end,
            "now": now,
            "users": users,
            "figures": [render.as_json(rows[user]) for user in users],
            "csvs": [render.csv_text(kind, period, rows[user]) for user in users],
        },
    ).all()
    title = TITLES[kind].format(label=label)
    session.execute(
        ANNOUNCE,
        {
            "ids": [row.id for row in stored],
            "users": [row.user_id for row in stored],
            "title": title,
            "body": f"{title}: see it under Documents, or download it as a PDF or CSV.",
            "now": now,
            "emailed": notifications.emailing(),
        },
    )
    pdfs.queue_drawing(session, [row.id for row in stored])
    return len(stored)
