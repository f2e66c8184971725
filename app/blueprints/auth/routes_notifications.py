"""In-app notifications: the bell's unread count, the list, and marking them read."""

from flask_login import current_user, login_required

from app.extensions import db
from app.htmx import render
from app.services.platform import notifications

from .routes import bp


@bp.get("/account/notifications")
@login_required
def notification_index():
    """The latest notifications, newest first."""
    return render("auth/notifications.html", **_page())


@bp.get("/account/notifications/bell")
@login_required
def notification_bell():
    """The unread count for the bell in the navigation (polled)."""
    return render("auth/notifications.html", "bell", **_page())


@bp.post("/account/notifications/read")
@login_required
def notification_read_all():
    """Mark everything read; the list and the bell update in place."""
    notifications.mark_read(db.session, current_user.id)
    db.session.commit()
    return render(
        "auth/notifications.html", "notification_list", trigger="notifications-read", **_page()
    )


def _page() -> dict:
    return {
        "items": notifications.recent(db.session, current_user.id, limit=50),
        "unread": notifications.unread_count(db.session, current_user.id),
    }
