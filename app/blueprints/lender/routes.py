"""Lender pages."""

from flask import Blueprint

from app.access import role_required
from app.htmx import render
from app.models import Role

bp = Blueprint("lender", __name__, url_prefix="/lender")


@bp.get("/")
@role_required(Role.LENDER)
def dashboard():
    """The lender's landing page."""
    return render("lender/dashboard.html")
