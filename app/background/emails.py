"""Email bodies: a notification rendered through the email templates, with absolute links."""

from flask import render_template

from app.links import notification_url
from app.models import Notification, User


def compose(notification: Notification, user: User) -> tuple[str, str]:
    """The text and HTML bodies of `notification`'s email to `user`."""
    context = {
        "user": user,
        "notification": notification,
        "link": notification_url(notification, external=True),
    }
    return (
        render_template("emails/notification.txt", **context),
        render_template("emails/notification.html", **context),
    )
