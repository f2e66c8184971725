"""Identity and income documents: upload (checked by content) and download (owner or admin)."""

import io
from pathlib import Path

from flask import current_app, flash, send_file, url_for
from flask_login import current_user, login_required

from app.access import owned_or_404
from app.extensions import db, get_key_ring
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.models import Document, DocumentKind
from app.security_events import record_viewing
from app.services.accounts import documents
from app.services.errors import ValidationFailed

from .forms import DocumentForm
from .routes import bp


@bp.get("/account/documents")
@login_required
def document_index():
    """The user's documents and their verification status, with the upload form."""
    return render("auth/documents.html", **_page(DocumentForm()))


@bp.post("/account/documents")
@login_required
def document_create():
    """Store an upload if its bytes are an allowed type; otherwise 422 and nothing stored."""
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            documents.store(
                db.session,
                user_id=current_user.id,
                kind=DocumentKind(form.kind.data),
                filename=upload.filename or "document",
                data=upload.read(),
                max_size=current_app.config["UPLOAD_MAX_SIZE"],
                ring=get_key_ring(),
                allowed=current_app.config["UPLOAD_ALLOWED_TYPES"],
            )
        except ValidationFailed as error:
            attach_errors(form, error, "file")
        else:
            db.session.commit()
            flash("Document uploaded. We'll review it shortly.", "success")
            return hx_redirect(url_for("auth.document_index"))
    return render("auth/documents.html", "upload_form", status=422, **_page(form))


@bp.get("/account/documents/<int:document_id>/download")
@login_required
def document_download(document_id: int):
    """The file itself, as an attachment, for its owner and admins only (others: 404)."""
    document = owned_or_404(Document, document_id, "user_id")
    data = documents.read(document, Path(current_app.config["UPLOAD_FOLDER"]), get_key_ring())
    record_viewing("document.downloaded", document, owner_id=document.user_id)
    response = send_file(
        io.BytesIO(data),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.original_filename,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def _page(form: DocumentForm) -> dict:
    return {"form": form, "documents": documents.of_user(db.session, current_user.id)}
