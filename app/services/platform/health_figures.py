"""The figures an operator watches, read from the database at the moment they are asked for:
the job queue, the daily cycle, the ledger check and sign-in failures."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ActivityLog, OutboxMessage, OutboxStatus, ServicingRun

WAITING = (OutboxStatus.PENDING, OutboxStatus.ENQUEUED)


def figures(session: Session, now: datetime | None = None) -> dict[str, float]:
    now = now or datetime.now(UTC)
    waiting, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(WAITING)
        )
    ).one()
    failed = session.scalar(select(func.count()).where(OutboxMessage.status == OutboxStatus.FAILED))
    retrying = session.scalar(
        select(func.count()).where(OutboxMessage.status.in_(WAITING), OutboxMessage.attempts > 0)
    )
    return {
        "outbox_waiting": waiting,
        "outbox_oldest_age_seconds": (now - oldest).total_seconds() if oldest else 0.0,
        "jobs_failed": failed,
        "jobs_retrying": retrying,
        **_last_cycle(session),
        **_last_ledger_check(session),
        "sign_in_failures_last_hour": session.scalar(
            select(func.count()).where(
                ActivityLog.action == "auth.sign_in_failed",
                ActivityLog.created_at >= now - timedelta(hours=1),
            )
        ),
    }


def _last_cycle(session: Session) -> dict[str, float]:
    run = session.scalar(
        select(ServicingRun)
        .where(ServicingRun.finished_at.is_not(None))
        .order_by(ServicingRun.business_date.desc())
        .limit(1)
    )
    if run is None:
        return {}
    stats = run.stats or {}
    processed = sum(value for key, value in stats.items()
                    if isinstance(value, int) and key != "business_date")  # fmt: skip
    return {
        "cycle_duration_seconds": (run.finished_at - run.started_at).total_seconds(),
        "cycle_items_processed": processed,
        "cycle_business_date_timestamp": datetime.combine(
            run.business_date, datetime.min.time(), tzinfo=UTC
        ).timestamp(),
    }


def _last_ledger_check(session: Session) -> dict[str, float]:
    check = session.scalar(
        select(ActivityLog)
        .where(ActivityLog.action == "ledger.verified")
        .order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc())
        .limit(1)
    )
    if check is None:
        return {}
    return {
        "ledger_check_problems": (check.details or {}).get("problems", 0),
        "ledger_check_timestamp": check.created_at.timestamp(),
    }
