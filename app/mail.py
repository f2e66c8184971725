"""Email delivery for notifications: rendered from templates, sent over SMTP (or captured)."""

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage as MimeMessage

from flask import current_app, render_template
from sqlalchemy import select

from app.extensions import db
from app.models import EmailMessage, Notification, User


def deliver(notification_id: int) -> str:
    """Send the notification's email once; raises on SMTP failure so the outbox retries."""
    config = current_app.config
    notification = db.session.get(Notification, notification_id)
    # The switch silences updates, not security mail (a password-reset link must arrive).
    if not config["ENABLE_EMAIL_NOTIFICATIONS"] and not notification.kind.startswith("auth."):
        return "disabled"
    message = db.session.scalar(
        select(EmailMessage).where(EmailMessage.notification_id == notification_id)
    )
    if message is None:
        message = _compose(notification)
    if message.status in ("sent", "captured"):
        return message.status
    message.attempts += 1
    if not config["SMTP_HOST"]:
        message.status = "captured"  # development: visible on the admin outbox page
        return message.status
    try:
        _send(message, config)
    except (OSError, smtplib.SMTPException) as error:
        message.last_error = str(error)
        db.session.commit()  # keep the attempt count; the outbox retries with backoff
        raise
    message.status, message.sent_at = "sent", datetime.now(UTC)
    return message.status


def _compose(notification: Notification) -> EmailMessage:
    user = db.session.get(User, notification.user_id)
    context = {
        "user": user,
        "notification": notification,
        "link": notification.link and _absolute(notification.link),
    }
    message = EmailMessage(
        notification_id=notification.id,
        to_address=user.email,
        subject=f"CommunityLend: {notification.title}",
        text_body=render_template("emails/notification.txt", **context),
        html_body=render_template("emails/notification.html", **context),
        status="pending",
        attempts=0,
    )
    db.session.add(message)
    db.session.flush()
    return message


def _send(message: EmailMessage, config) -> None:
    mime = MimeMessage()
    mime["From"], mime["To"], mime["Subject"] = (
        config["MAIL_FROM"],
        message.to_address,
        message.subject,
    )
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
        if config["SMTP_USE_TLS"]:
            smtp.starttls()
        if config["SMTP_USERNAME"]:
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        smtp.send_message(mime)


def _absolute(link: str) -> str:
    return current_app.config.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/") + link
