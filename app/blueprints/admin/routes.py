"""Admin overview: the platform's figures at a glance, and the review queues in the top bar."""

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import func, select

from app.access import role_required
from app.extensions import db, stale_reads
from app.htmx import render
from app.models import Role, User
from app.services.platform import reports

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
    """Loans by state, volumes, risk by grade, lender cash, ledger check and queue health
    (from the replica when there is one: a report may lag a moment)."""
    reports_db = stale_reads()
    users_by_role = dict(
        reports_db.execute(select(User.role, func.count()).group_by(User.role)).all()
    )
    return render(
        "admin/dashboard.html",
        users_by_role=users_by_role,
        states=reports.loans_by_state(reports_db),
        volumes=reports.volumes(reports_db),
        grades=reports.risk_by_grade(reports_db),
        lender_cash=reports.cash_held_for_lenders(reports_db),
        queues=reports.queue_health(reports_db),
        ledger_check=reports.last_ledger_check(reports_db),
    )
