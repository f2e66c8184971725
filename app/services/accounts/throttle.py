"""Pausing sign-in for an email address after repeated failures (ASVS 6.3.x).

Counted per address, not per client: guessing from many IP addresses is paused alike. Counted
for every address typed, with or without an account, so a pause says nothing about whether one
exists. From `PAUSE_AFTER` failures in a row each further one doubles the pause, up to
`LONGEST_PAUSE`; a successful sign-in or a new password clears it.
"""

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import SignInThrottle

PAUSE_AFTER = 5
LONGEST_PAUSE = timedelta(minutes=60)
FORGET_AFTER = timedelta(days=1)


def _digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def pause_for(failures: int) -> timedelta | None:
    """How long sign-in pauses after `failures` in a row (None: not yet)."""
    if failures < PAUSE_AFTER:
        return None
    return min(timedelta(minutes=2 ** (failures - PAUSE_AFTER)), LONGEST_PAUSE)


def paused_until(session: Session, email: str, now: datetime) -> datetime | None:
    """When sign-in with `email` may be tried again, if it is paused now."""
    until = session.scalar(
        select(SignInThrottle.locked_until).where(SignInThrottle.email_digest == _digest(email))
    )
    return until if until is not None and until > now else None


def record_failure(session: Session, email: str, now: datetime) -> tuple[int, datetime | None]:
    """Count one more failure (atomically, under concurrent attempts); the count and the
    pause it starts, if any."""
    failures = session.execute(
        insert(SignInThrottle)
        .values(email_digest=_digest(email), failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=["email_digest"],
            set_={"failures": SignInThrottle.failures + 1, "last_failure_at": now},
        )
        .returning(SignInThrottle.failures)
    ).scalar_one()
    pause = pause_for(failures)
    if pause is None:
        return failures, None
    session.get(SignInThrottle, _digest(email), populate_existing=True).locked_until = now + pause
    return failures, now + pause


def clear(session: Session, email: str) -> None:
    session.execute(delete(SignInThrottle).where(SignInThrottle.email_digest == _digest(email)))


def forget_old(session: Session, now: datetime) -> int:
    """Drop counts with no failure for a day (addresses typed once and never again)."""
    result = session.execute(
        delete(SignInThrottle).where(SignInThrottle.last_failure_at < now - FORGET_AFTER)
    )
    return result.rowcount
