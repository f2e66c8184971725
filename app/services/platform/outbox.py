"""The transactional outbox: jobs written in the same transaction as the change."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import OutboxMessage, OutboxStatus
from app.services.platform import tracing

STALE_AFTER = timedelta(minutes=10)
BACKOFF_BASE_SECONDS = 30


def add(
    session: Session,
    kind: str,
    payload: dict | None = None,
    *,
    dedupe_key: str | None = None,
    user_id: int | None = None,
) -> None:
    """Record a job to run after this transaction commits (once per dedupe_key)."""
    statement = insert(OutboxMessage).values(
        kind=kind,
        payload=payload or {},
        dedupe_key=dedupe_key,
        user_id=user_id,
        request_id=tracing.current(),
        status=OutboxStatus.PENDING,
        attempts=0,
        max_attempts=5,
        progress=0,
        created_at=datetime.now(UTC),
        available_at=datetime.now(UTC),
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["dedupe_key"]))


def claim_pending(session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Lock up to `limit` due messages; concurrent relays skip each other's rows."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.available_at <= datetime.now(UTC),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def requeue_stale(
    session: Session,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
    is_lost: Callable[[str | None], bool] | None = None,
) -> int:
    """Put back messages handed to a queue long ago and never finished (lost jobs).

    `is_lost(rq_job_id)` says whether the queue still has the job waiting or running; without
    it, every message enqueued before `stale_after` counts as lost. With it, a job that is only
    waiting behind a long queue is left alone (handing it out again would only lengthen the
    queue)."""
    now = now or datetime.now(UTC)
    stale = session.execute(
        select(OutboxMessage.id, OutboxMessage.rq_job_id).where(
            OutboxMessage.status == OutboxStatus.ENQUEUED,
            OutboxMessage.enqueued_at < now - stale_after,
        )
    ).all()
    lost = [message_id for message_id, job in stale if is_lost is None or is_lost(job)]
    if not lost:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(lost), OutboxMessage.status == OutboxStatus.ENQUEUED)
        .values(status=OutboxStatus.PENDING, available_at=now)
    )
    return result.rowcount


def mark_done(message: OutboxMessage) -> None:
    """The job's effect is committed with this."""
    message.status = OutboxStatus.DONE
    message.done_at = datetime.now(UTC)
    message.progress = 100


def mark_failed_attempt(message: OutboxMessage, error: str) -> None:
    """Count a failed run: retry later with exponential backoff, or give up."""
    message.attempts += 1
    message.last_error = error[:4000]
    if message.attempts >= message.max_attempts:
        message.status = OutboxStatus.FAILED
        return
    delay = BACKOFF_BASE_SECONDS * 2 ** (message.attempts - 1)
    message.status = OutboxStatus.PENDING
    message.available_at = datetime.now(UTC) + timedelta(seconds=delay)


def retry(session: Session, message_id: int) -> bool:
    """Give a failed message another round of attempts; False if it was not failed."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.FAILED)
        .values(status=OutboxStatus.PENDING, attempts=0, available_at=datetime.now(UTC))
    )
    return result.rowcount == 1


def add_many(session: Session, kind: str, jobs: list[tuple[dict, str, int | None]]) -> None:
    """`add` for many jobs in one statement: (payload, dedupe_key, user_id) each."""
    if not jobs:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "kind": kind,
            "payload": payload,
            "dedupe_key": dedupe_key,
            "user_id": user_id,
            "request_id": tracing.current(),
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "max_attempts": 5,
            "progress": 0,
            "created_at": now,
            "available_at": now,
        }
        for payload, dedupe_key, user_id in jobs
    ]
    session.execute(
        insert(OutboxMessage).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
