"""Admin pages."""

from flask import Blueprint
from sqlalchemy import func, select

from app.access import role_required
from app.extensions import db
from app.htmx import render
from app.models import Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@role_required(Role.ADMIN)
def dashboard():
    """Platform overview for administrators."""
    users_by_role = dict(
        db.session.execute(select(User.role, func.count()).group_by(User.role)).all()
    )
    return render("admin/dashboard.html", users_by_role=users_by_role)
