"""Email bodies: a notification rendered through the email templates, with absolute links.

Some emails carry a secret (a password-reset link). Its token is minted as the email is sent
and exists only in the message handed to the mail server: the stored copy (what the admin
outbox page shows) is composed with `reveal=False` and says the link went to the mailbox.
"""

from flask import render_template

from app.keys import signing_keys
from app.links import external_url, notification_url
from app.models import Notification, PendingRegistration, User
from app.services.accounts import password_reset, registration


def _reset_link(user: User) -> str:
    token = password_reset.make_token(user, signing_keys("password-reset"))
    return external_url("auth.password_reset_form", {"token": token})


SECRET_LINKS = {password_reset.KIND: _reset_link}
WITHHELD = "(a one-time link, sent to your mailbox only and never stored)"


def compose(notification: Notification, user: User, *, reveal: bool) -> tuple[str, str]:
    """The text and HTML bodies of `notification`'s email to `user`; a secret link only when
    `reveal` (the copy that is sent), else a note that it was withheld (the copy kept)."""
    secret_link = SECRET_LINKS.get(notification.kind)
    if secret_link is None:
        link, withheld = notification_url(notification, external=True), None
    elif reveal:
        link, withheld = secret_link(user), None
    else:
        link, withheld = None, WITHHELD
    context = {"user": user, "notification": notification, "link": link, "withheld": withheld}
    return (
        render_template("emails/notification.txt", **context),
        render_template("emails/notification.html", **context),
    )


def compose_registration(pending: PendingRegistration, *, reveal: bool) -> tuple[str, str]:
    """The email that confirms a sign-up's address; its link only when `reveal`."""
    if reveal:
        token = registration.make_token(pending, signing_keys("confirm-email"))
        link, withheld = external_url("auth.register_confirm", {"token": token}), None
    else:
        link, withheld = None, WITHHELD
    context = {"pending": pending, "link": link, "withheld": withheld}
    return (
        render_template("emails/registration.txt", **context),
        render_template("emails/registration.html", **context),
    )
