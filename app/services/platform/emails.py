"""Email for notifications: composed once, sent at most once, every attempt counted."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import EmailMessage, Notification, User


class Composer(Protocol):
    def __call__(self, notification: Notification, user: User, *, reveal: bool) -> tuple[str, str]:
        """(text body, html body), rendered by the web layer's templates; secrets (a reset
        link) only when `reveal`: that copy is sent and never stored."""


class NotSent(Exception):
    """The mail server did not take the message; the outbox tries again later."""


class Mailer(Protocol):
    def send(
        self, to: str, subject: str, text: str, html: str, *, message_id: str | None = None
    ) -> None:
        """Hand one message to the mail server; raise NotSent when it does not take it.
        `message_id` is the same on every attempt, so a message sent twice is known as one."""


def deliver(
    session: Session,
    notification_id: int,
    *,
    mailer: Mailer | None,
    compose: Composer,
    send_updates: bool,
) -> str:
    """Send the notification's email once; raises on SMTP failure so the outbox retries.

    With no mailer the message is kept as "captured" (development: the admin outbox shows it).
    What is stored is composed without secrets; the copy handed to the mail server is composed
    afresh, with them, on every attempt.
    """
    notification = session.get(Notification, notification_id)
    # The switch silences updates, not security mail (a password-reset link must arrive).
    if not send_updates and not notification.kind.startswith("auth."):
        return "disabled"
    message = session.scalar(
        select(EmailMessage).where(EmailMessage.notification_id == notification_id)
    )
    if message is None:
        message = _compose(session, notification, compose)
    if message.status in ("sent", "captured"):
        return message.status
    message.attempts += 1
    if mailer is None:
        message.status = "captured"
        return message.status
    text, html = compose(notification, session.get(User, notification.user_id), reveal=True)
    try:
        mailer.send(message.to_address, message.subject, text, html,
                    message_id=f"<email-{message.id}@communitylend>")  # fmt: skip
    except NotSent as error:
        message.last_error = str(error)  # the caller commits it before the outbox retries
        raise
    message.status, message.sent_at = "sent", datetime.now(UTC)
    return message.status


def _compose(session: Session, notification: Notification, compose: Composer) -> EmailMessage:
    user = session.get(User, notification.user_id)
    text, html = compose(notification, user, reveal=False)
    message = EmailMessage(
        notification_id=notification.id,
        to_address=user.email,
        subject=f"CommunityLend: {notification.title}",
        text_body=text,
        html_body=html,
        status="pending",
        attempts=0,
    )
    session.add(message)
    session.flush()
    return message


def send_direct(
    session: Session,
    *,
    to: str,
    subject: str,
    compose: Callable[[bool], tuple[str, str]],
    mailer: Mailer | None,
) -> str:
    """Email an address that has no account yet (a sign-up's link); kept like the others, the
    kept copy composed with `reveal=False`. Raises NotSent when the server does not take it."""
    if mailer is not None:
        mailer.send(to, subject, *compose(True))
    text, html = compose(False)
    status = "captured" if mailer is None else "sent"
    session.add(
        EmailMessage(
            to_address=to,
            subject=subject,
            text_body=text,
            html_body=html,
            status=status,
            attempts=1,
            sent_at=datetime.now(UTC) if mailer else None,
        )
    )
    return status
