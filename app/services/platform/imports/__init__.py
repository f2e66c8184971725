"""CSV imports: users, loan applications and historical outcomes, checked in full, loaded at COPY speed.

`upload` records a previewed batch, `confirm` queues it, `execute` (the job) loads it all-or-nothing;
`import_file` does the same in one go for the CLI.
"""

import hashlib
import io
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ImportBatch
from app.services.errors import DomainError
from app.services.platform import activity, outbox
from app.services.platform.imports.formats import KINDS, format_for
from app.services.platform.imports.loader import Progress, inspect, load
from app.services.platform.imports.staging import Report

__all__ = ["KINDS", "Report", "confirm", "execute", "format_for", "import_file", "upload"]

# A batch in one of these states already holds (or is about to hold) the file's rows.
TAKEN = ("queued", "running", "imported")


def upload(
    session: Session,
    kind: str,
    filename: str,
    data: bytes,
    *,
    user_id: int,
    loan_terms: tuple[int, ...],
) -> ImportBatch:
    """Check an uploaded file and record it as a batch ready to confirm, or invalid with its errors.

    The same file uploaded again finds its batch: an imported file is never imported twice.
    """
    fmt = format_for(kind, loan_terms)
    digest = hashlib.sha256(data).hexdigest()
    batch = _batch_for(session, kind, filename, digest, user_id)
    if batch.status in TAKEN:
        return batch
    report = inspect(session, fmt, io.BytesIO(data))
    _record(batch, report)
    batch.filename = filename
    batch.status = "ready" if report.ok else "invalid"
    batch.content = data if report.ok else None
    session.flush()
    activity.record(
        session,
        "import.checked",
        user_id=user_id,
        entity=batch,
        kind=kind,
        rows=report.rows_total,
        errors=report.error_count,
    )
    return batch


def confirm(session: Session, batch_id: int, *, user_id: int) -> ImportBatch:
    """Queue a checked batch for the import job (once, however often it is confirmed)."""
    batch = session.get(ImportBatch, batch_id, with_for_update=True)
    if batch is None:
        raise DomainError(f"No import #{batch_id}.")
    if batch.status in TAKEN:
        return batch
    if batch.status != "ready":
        raise DomainError("This file has errors: fix them and upload it again.")
    batch.status = "queued"
    outbox.add(session, "run_import", {"batch_id": batch.id}, dedupe_key=f"import-{batch.id}")
    activity.record(session, "import.confirmed", user_id=user_id, entity=batch, kind=batch.kind)
    return batch


def execute(
    session: Session,
    batch_id: int,
    *,
    loan_terms: tuple[int, ...],
    progress: Progress | None = None,
) -> ImportBatch | None:
    """The import job: check the stored file again (the database may have changed), then load it."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status not in ("queued", "running") or batch.content is None:
        return batch
    report = load(
        session,
        format_for(batch.kind, loan_terms),
        io.BytesIO(batch.content),
        batch_id=batch.id,
        progress=progress,
    )
    _finish(session, batch, report)
    return batch


def import_file(
    session: Session,
    kind: str,
    path: Path,
    *,
    loan_terms: tuple[int, ...],
    user_id: int | None = None,
    progress: Progress | None = None,
) -> tuple[ImportBatch | None, Report | None]:
    """Import a file from disk in the caller's transaction (the CLI); roll back when not ok.

    Returns (batch, None) when this exact file was imported before.
    """
    digest = _file_digest(path)
    batch = _batch_for(session, kind, path.name, digest, user_id)
    if batch.status in TAKEN:
        return batch, None
    batch.status = "running"
    session.flush()
    with path.open("rb") as stream:
        report = load(
            session,
            format_for(kind, loan_terms),
            stream,
            batch_id=batch.id,
            progress=progress,
        )
    _finish(session, batch, report)
    return batch, report


def _finish(session: Session, batch: ImportBatch, report: Report) -> None:
    _record(batch, report)
    batch.finished_at = datetime.now(UTC)
    if not report.ok:
        batch.status = "invalid"
        return
    batch.status = "imported"
    batch.content = None
    batch.rows_imported = report.rows_imported
    activity.record(
        session,
        "import.completed",
        user_id=batch.created_by_id,
        entity=batch,
        kind=batch.kind,
        imported=report.rows_imported,
        skipped=report.rows_existing,
    )
    if batch.kind == "loans" and report.rows_imported:
        outbox.add(session, "score_imported_loans", {}, dedupe_key=f"score-import-{batch.id}")


def _record(batch: ImportBatch, report: Report) -> None:
    batch.rows_total = report.rows_total
    batch.rows_skipped = report.rows_existing
    batch.errors = report.errors
    batch.error_count = report.error_count
    batch.preview = report.preview


def _batch_for(
    session: Session, kind: str, filename: str, digest: str, user_id: int | None
) -> ImportBatch:
    """This file's batch: the earlier one for the same bytes, or a new one."""
    batch = session.scalar(
        select(ImportBatch).where(ImportBatch.kind == kind, ImportBatch.sha256 == digest)
    )
    if batch is None:
        batch = ImportBatch(kind=kind, filename=filename, sha256=digest, created_by_id=user_id)
        session.add(batch)
    return batch


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
