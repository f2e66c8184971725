"""Statements and tax documents, listed under Documents: the list, one page each, PDF and CSV
(owner or admin; anyone else gets 404)."""

import io

from flask import Response, send_file
from flask_login import current_user, login_required

from app.access import owned_or_404
from app.extensions import db
from app.htmx import render
from app.models import AccountStatement
from app.services.statements import reading
from app.services.statements import render as statement_render

from .routes import bp


@bp.get("/account/statements")
@login_required
def statement_index():
    """The user's monthly statements and year-end documents, newest first."""
    statements = reading.listed(db.session, current_user.id)
    return render("auth/statements.html", statements=statements, title_of=reading.title)


@bp.get("/account/statements/<int:statement_id>")
@login_required
def statement_show(statement_id: int):
    """One statement's figures, as the PDF and CSV give them."""
    statement = owned_or_404(AccountStatement, statement_id, "user_id")
    return render(
        "auth/statement.html",
        statement=statement,
        title=reading.title(statement),
        sections=statement_render.sections(statement.kind, statement.figures),
    )


@bp.get("/account/statements/<int:statement_id>.pdf")
@login_required
def statement_pdf(statement_id: int):
    """The statement as a PDF (drawn on the first download, then kept)."""
    statement = owned_or_404(AccountStatement, statement_id, "user_id")
    data = reading.pdf_of(db.session, statement)
    db.session.commit()
    return send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=reading.filename(statement, "pdf"),
        max_age=0,
    )


@bp.get("/account/statements/<int:statement_id>.csv")
@login_required
def statement_csv(statement_id: int):
    """The statement's figures as CSV."""
    statement = owned_or_404(AccountStatement, statement_id, "user_id")
    name = reading.filename(statement, "csv")
    return Response(
        statement.csv,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
