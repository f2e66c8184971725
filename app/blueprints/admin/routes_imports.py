"""CSV imports: upload → preview with every error → confirm → a background job with progress."""

from flask import abort, current_app, flash, url_for
from flask_login import current_user
from sqlalchemy import select

from app.access import role_required
from app.extensions import db, get_policy, limiter
from app.forms import body_limit
from app.htmx import hx_redirect, render
from app.models import ImportBatch, Role
from app.services.errors import DomainError
from app.services.platform import imports

from .forms import ImportForm
from .routes import bp

IMPORTS = "admin/imports.html"
UPLOAD_LIMIT = "30 per hour"


@bp.get("/imports")
@role_required(Role.ADMIN)
def import_index():
    """The upload form, the three file formats, and recent imports."""
    return render(IMPORTS, **_index_page(ImportForm(formdata=None)))


@bp.post("/imports")
@body_limit("IMPORT_MAX_SIZE")  # set before CSRF reads the form: a larger body is never read
@role_required(Role.ADMIN)
@limiter.limit(UPLOAD_LIMIT)
def import_upload():
    """Check the file at once; the preview page lists what is wrong, row by row."""
    form = ImportForm()
    if not form.validate_on_submit():
        return render(IMPORTS, "upload_form", status=422, **_index_page(form))
    batch = imports.upload(
        db.session,
        form.kind.data,
        form.file.data.filename[-255:],
        form.file.data.read(),
        user_id=current_user.id,
        loan_terms=get_policy().loan_terms,
    )
    db.session.commit()
    if batch.status in imports.TAKEN:  # the same file again: say so, do not land silently
        when = (batch.finished_at or batch.created_at).strftime("%b %d, %Y")
        flash(
            f"This file was already {'imported' if batch.status == 'imported' else 'queued'} "
            f"on {when} ({batch.rows_imported:,} of {batch.rows_total:,} rows): nothing new "
            "was done.",
            "info",
        )
    return hx_redirect(url_for("admin.import_show", batch_id=batch.id))


@bp.get("/imports/<int:batch_id>")
@role_required(Role.ADMIN)
def import_show(batch_id: int):
    """The preview and errors; while the job runs, htmx polls the progress block."""
    batch = db.session.get(ImportBatch, batch_id) or abort(404)
    fmt = imports.format_for(batch.kind, get_policy().loan_terms)
    return render("admin/import.html", "progress", batch=batch, fmt=fmt)


@bp.post("/imports/<int:batch_id>/confirm")
@role_required(Role.ADMIN)
def import_confirm(batch_id: int):
    """Queue the import job (confirming twice queues it once)."""
    try:
        imports.confirm(db.session, batch_id, user_id=current_user.id)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return hx_redirect(url_for("admin.import_show", batch_id=batch_id))
    db.session.commit()
    flash("Import queued: this page shows its progress.", "success")
    return hx_redirect(url_for("admin.import_show", batch_id=batch_id))


def _index_page(form: ImportForm) -> dict:
    batches = db.session.scalars(
        select(ImportBatch).order_by(ImportBatch.id.desc()).limit(25)
    ).all()
    terms = get_policy().loan_terms
    return {
        "form": form,
        "batches": batches,
        "formats": [imports.format_for(k, terms) for k in imports.KINDS],
        "max_mb": current_app.config["IMPORT_MAX_SIZE"] // (1024 * 1024),
    }
