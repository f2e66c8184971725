"""Admin overview: the platform's figures at a glance, and the review queues in the top bar."""

from flask import Blueprint, flash, url_for
from flask_login import current_user

from app.access import role_required
from app.extensions import db, stale_reads
from app.htmx import hx_redirect, render
from app.models import Role
from app.services.platform import book_snapshot, reports

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_context_processor
def review_queue_counts() -> dict:
    """For admins, `review_queues()` in every template; base.html calls it when it draws the nav.

    A callable, so the counts are queried only for full pages (fragments never draw the nav).
    """
    if getattr(current_user, "role", None) is not Role.ADMIN:
        return {}
    return {"review_queues": lambda: reports.review_queues(db.session)}


@bp.get("/")
@role_required(Role.ADMIN)
def dashboard():
    """The book's figures as of its latest snapshot (taken every 10 minutes, or now by
    "Refresh"), and the live ledger check and queue health."""
    figures = book_snapshot.latest(stale_reads())
    if figures is None:  # the first visit on a new platform
        book_snapshot.take(db.session)
        db.session.commit()
        figures = book_snapshot.latest(db.session)
    return render(
        "admin/dashboard.html",
        **figures,
        queues=reports.queue_health(db.session),
        ledger_check=reports.last_ledger_check(db.session),
    )


@bp.post("/snapshots")
@role_required(Role.ADMIN)
def snapshot_create():
    """Take the dashboard's figures now."""
    book_snapshot.take(db.session)
    db.session.commit()
    flash("The figures are up to date.", "success")
    return hx_redirect(url_for("admin.dashboard"))
