"""In-app notifications; each can also go out by email through the outbox."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.models import Notification, Role, User
from app.services.platform import outbox

# Replayed history (the demo book) tells its people in the app only: years of notices by
# email would bury the real ones. Per thread of work, so nothing else goes quiet.
_in_app_only: ContextVar[bool] = ContextVar("in_app_only", default=False)


@contextmanager
def in_app_only() -> Iterator[None]:
    """Within this block, notifications are not emailed."""
    token = _in_app_only.set(True)
    try:
        yield
    finally:
        _in_app_only.reset(token)


def emailing() -> bool:
    """Whether notices made now go out by email too (not inside `in_app_only`)."""
    return not _in_app_only.get()


def notify(
    session: Session,
    user_id: int,
    kind: str,
    title: str,
    body: str,
    *,
    link: tuple[str, dict] | None = None,
    dedupe_key: str | None = None,
    email: bool = True,
    data: dict | None = None,
) -> Notification:
    """Tell a user something (once per dedupe_key): in-app now, by email through the outbox.

    `link` is an (endpoint, arguments) pair, e.g. ("borrower.loan_show", {"loan_id": 7});
    `data` the facts the message states, as JSON values (money as strings with two decimals).
    """
    endpoint, arguments = link or (None, None)
    # One round trip: the row, unless the dedupe key was used (then the earlier one).
    notification = session.scalar(
        pg_insert(Notification)
        .values(
            user_id=user_id,
            kind=kind,
            title=title,
            body=body,
            link_endpoint=endpoint,
            link_args=arguments,
            data=data,
            dedupe_key=dedupe_key,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification)
    )
    if notification is None:
        return session.scalars(
            select(Notification).where(Notification.dedupe_key == dedupe_key)
        ).one()
    if email and emailing():
        outbox.add(
            session,
            "send_email",
            {"notification_id": notification.id},
            dedupe_key=f"email-{notification.id}",
            user_id=user_id,
        )
    return notification


def notify_admins(
    session: Session,
    kind: str,
    title: str,
    body: str,
    *,
    link: tuple[str, dict] | None = None,
    dedupe_key: str,
    email: bool = True,
) -> None:
    """`notify` every active admin (once each per `dedupe_key`)."""
    admins = session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True))
    ).all()
    for admin_id in admins:
        notify(
            session, admin_id, kind, title, body, link=link,
            dedupe_key=f"{dedupe_key}-{admin_id}", email=email,
        )  # fmt: skip


def unread_count(session: Session, user_id: int) -> int:
    """How many notifications the user has not read."""
    return session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def recent(session: Session, user_id: int, limit: int = 20) -> list[Notification]:
    """The user's latest notifications, newest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or every) notification of the user read; returns how many changed."""
    query = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return session.execute(query.values(read_at=datetime.now(UTC))).rowcount


def notify_many(session: Session, notices: list[dict]) -> int:
    """`notify` for many users in two statements (the daily cycle's notices): each dict holds
    user_id, kind, title, body, link (endpoint, arguments), dedupe_key and data. Returns how
    many were new (a dedupe key already used adds nothing, and sends no second email)."""
    if not notices:
        return 0
    rows = [
        {
            "user_id": notice["user_id"],
            "kind": notice["kind"],
            "title": notice["title"],
            "body": notice["body"],
            "link_endpoint": notice["link"][0],
            "link_args": notice["link"][1],
            "data": notice.get("data"),
            "dedupe_key": notice["dedupe_key"],
        }
        for notice in notices
    ]
    created = session.execute(
        pg_insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id, Notification.user_id)
    ).all()
    if emailing():
        outbox.add_many(
            session,
            "send_email",
            [({"notification_id": id_}, f"email-{id_}", user_id) for id_, user_id in created],
        )
    return len(created)
