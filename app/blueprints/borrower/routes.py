"""Borrower pages: the dashboard and their own loans."""

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import select

from app.access import owned_or_404, role_required
from app.extensions import db
from app.htmx import render
from app.models import Loan, Role

bp = Blueprint("borrower", __name__, url_prefix="/borrower")


@bp.get("/")
@role_required(Role.BORROWER)
def dashboard():
    """The borrower's applications and loans."""
    loans = db.session.scalars(
        select(Loan).where(Loan.borrower_id == current_user.id).order_by(Loan.created_at.desc())
    ).all()
    return render("borrower/dashboard.html", loans=loans)


@bp.get("/loans/<int:loan_id>")
@role_required(Role.BORROWER, Role.ADMIN)
def loan_show(loan_id: int):
    """One of the borrower's own loans (anyone else's is a 404)."""
    loan = owned_or_404(Loan, loan_id, "borrower_id")
    return render("borrower/loans/show.html", loan=loan)
