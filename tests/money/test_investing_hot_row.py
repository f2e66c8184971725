"""The hot loan row is requested last (issue 14), seen from PostgreSQL's own lock tables.

While another transaction holds a listed loan's row, an investment in it must already have
written everything else (the note, its key, its ledger entry and postings, the audit row) and
be waiting for that row alone: then the row is held for one statement and the COMMIT, and
investors in a popular loan do not queue behind each other's other work.
"""

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Investment, Loan
from app.services.lending import investing
from app.services.money import ledger
from tests.builders import key, lender, listed_loan

D = Decimal
pytestmark = pytest.mark.committing
WRITTEN_FIRST = {"investments", "idempotency_keys", "journal_entries", "postings", "activity_logs"}


def test_an_investment_waits_for_the_loan_row_only_after_writing_everything_else(committed):
    investor, loan = lender(D("500.00")), listed_loan("1000.00")
    committed.commit()
    investor_id, loan_id = investor.id, loan.id
    outcome, engine = {}, db.engine  # the thread has no app context of its own

    def invest():
        with Session(engine) as session:
            outcome["note"] = investing.invest(
                session,
                lender_id=investor_id,
                loan_id=loan_id,
                amount=D("100"),
                idempotency_key=key(),
            ).id
            session.commit()

    with db.engine.connect() as blocker, db.engine.connect() as watcher:
        blocker.execute(text("SELECT 1 FROM loans WHERE id = :id FOR UPDATE"), {"id": loan_id})
        thread = threading.Thread(target=invest, daemon=True)
        thread.start()
        pid = _waiting_backend(watcher)
        held = _relations_locked(watcher, pid, "RowExclusiveLock")
        assert WRITTEN_FIRST <= held, held
        blocked_by = watcher.scalar(text("SELECT pg_blocking_pids(:pid)"), {"pid": pid})
        assert blocked_by == [blocker.scalar(text("SELECT pg_backend_pid()"))]  # the row only
        assert _notes(watcher, loan_id) == 0  # nothing is visible before the COMMIT
        blocker.rollback()
        thread.join(timeout=30)
    assert not thread.is_alive()
    with Session(db.engine) as check:
        assert check.scalar(select(Loan.funded_amount).where(Loan.id == loan_id)) == D("100.00")
        assert check.get(Investment, outcome["note"]).amount == D("100.00")
        assert ledger.verify(check) == []


def _waiting_backend(watcher) -> int:
    """The backend running place_note once it waits on a lock (10 s at most)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pid = watcher.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%place_note(%' AND pid <> pg_backend_pid()"
            )
        ).scalar()
        watcher.rollback()
        if pid is not None:
            return pid
        time.sleep(0.02)
    raise AssertionError("the investment never waited for the loan row")


def _relations_locked(watcher, pid: int, mode: str) -> set[str]:
    names = watcher.scalars(
        text(
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = :pid AND l.mode = :mode AND l.granted AND c.relkind = 'r'"
        ),
        {"pid": pid, "mode": mode},
    ).all()
    watcher.rollback()
    return set(names)


def _notes(watcher, loan_id: int) -> int:
    count = watcher.scalar(select(func.count(Investment.id)).where(Investment.loan_id == loan_id))
    watcher.rollback()
    return count
