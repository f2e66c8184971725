"""The schedule: which recurring jobs are due, written to the outbox once per period.

`tick()` is cheap and idempotent (dedupe keys name the period), so any number of scheduler
processes, or the dev server's job thread, can call it every few seconds.
"""

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import OutboxMessage
from app.services.platform import outbox
from app.services.statements.periods import previous_month

# name: (job kind, period format for the dedupe key, payload builder)
SCHEDULE = {
    "servicing_cycle": (
        "servicing_cycle",
        "%Y-%m-%d",
        lambda now: {"business_date": now.date().isoformat()},
    ),
    "expire_listings": ("expire_listings", "%Y-%m-%dT%H", lambda now: {}),
    "verify_ledger": ("verify_ledger", "%Y-%m-%d", lambda now: {}),
    "measure_drift": ("measure_drift", "%Y-%m-%d", lambda now: {}),
    "auto_invest_sweep": ("auto_invest_sweep", "%Y-%m-%dT%H", lambda now: {}),
    # Every 10 minutes: the admin dashboard's figures (services/platform/book_snapshot.py).
    "snapshot_book": (
        "snapshot_book",
        lambda now: f"{now:%Y-%m-%dT%H}:{now.minute // 10}",
        lambda now: {},
    ),
    # On or after the 1st: the month before's statements, and in January the year before's.
    "monthly_statements": (
        "issue_monthly_statements",
        "%Y-%m",
        lambda now: {"month": f"{previous_month(now.date()).start:%Y-%m}"},
    ),
    "yearly_statements": (
        "issue_yearly_statements",
        "%Y",
        lambda now: {"year": now.year - 1},
    ),
}


# Statements are final once issued (one per user and period): the dev server holds them back
# while its demo book is still replaying the months they describe.
STATEMENT_JOBS = ("monthly_statements", "yearly_statements")


def tick(now: datetime | None = None, skip: tuple[str, ...] = ()) -> int:
    """Write every scheduled job due in this period (once), but those named in `skip`; returns
    how many were new."""
    now = now or datetime.now(UTC)
    before = _count()
    for name, (kind, period, payload) in SCHEDULE.items():
        if name in skip:
            continue
        when = period(now) if callable(period) else now.strftime(period)
        outbox.add(db.session, kind, payload(now), dedupe_key=f"schedule:{name}:{when}")
    db.session.commit()
    return _count() - before


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))
