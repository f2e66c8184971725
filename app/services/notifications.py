"""In-app notifications (email delivery rides on the outbox)."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Notification


def notify(
    session: Session,
    user_id: int,
    kind: str,
    title: str,
    body: str,
    *,
    link: str | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """Create a notification once per dedupe_key; returns the existing one on a repeat."""
    if dedupe_key:
        existing = session.scalar(select(Notification).where(Notification.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    notification = Notification(
        user_id=user_id, kind=kind, title=title, body=body, link=link, dedupe_key=dedupe_key
    )
    session.add(notification)
    session.flush()
    return notification


def unread_count(session: Session, user_id: int) -> int:
    """How many notifications the user has not read."""
    return session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
