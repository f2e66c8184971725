"""Admin overview: the platform's figures at a glance."""

from flask import Blueprint
from sqlalchemy import func, select

from app.access import role_required
from app.extensions import db
from app.htmx import render
from app.models import Role, User
from app.services.platform import reports

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@role_required(Role.ADMIN)
def dashboard():
    """Loans by state, volumes, risk by grade, lender cash, ledger check and queue health."""
    users_by_role = dict(
        db.session.execute(select(User.role, func.count()).group_by(User.role)).all()
    )
    return render(
        "admin/dashboard.html",
        users_by_role=users_by_role,
        states=reports.loans_by_state(db.session),
        volumes=reports.volumes(db.session),
        grades=reports.risk_by_grade(db.session),
        lender_cash=reports.cash_held_for_lenders(db.session),
        queues=reports.queue_health(db.session),
        ledger_check=reports.last_ledger_check(db.session),
    )
