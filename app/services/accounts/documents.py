"""Uploaded identity and income documents: checked by content, sealed, kept in the database.

The sealed bytes live in `documents.sealed_content`, so every web node serves every document.
Documents uploaded before that sit sealed in the upload folder, read from there until
`move_to_database` brings them in.
"""

import hashlib
import io
import secrets
import zipfile
from pathlib import Path

import filetype
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Document, DocumentKind, VerificationStatus
from app.services.errors import ValidationFailed
from app.services.platform import activity
from app.services.platform.sealing import MAGIC, KeyRing

PURPOSE = "document"  # what sealed files are bound to
MAX_UNPACKED = 50 * 1024 * 1024  # a .docx is a zip: refuse bombs before anyone opens it
MAX_ENTRIES = 1000


def store(
    session: Session,
    *,
    user_id: int,
    kind: DocumentKind,
    filename: str,
    data: bytes,
    max_size: int,
    allowed: tuple[str, ...],
    ring: KeyRing,
    loan_id: int | None = None,
) -> Document:
    """Check the bytes (not the name) and store them sealed (AES-GCM) in the database; nothing
    on refusal."""
    if not data:
        raise ValidationFailed({"file": "The file is empty."})
    if len(data) > max_size:
        raise ValidationFailed({"file": f"The file is larger than {_size(max_size)}."})
    detected = filetype.guess(data)
    if detected is None or detected.extension not in allowed:
        raise ValidationFailed(
            {"file": f"This file is not {_kinds(allowed)} (we check the contents, not the name)."}
        )
    if detected.extension == "docx":
        _check_zip(data)
    stored_name = secrets.token_hex(16)
    document = Document(
        user_id=user_id,
        loan_id=loan_id,
        kind=kind,
        original_filename=_safe_name(filename),
        stored_name=stored_name,
        sealed_content=ring.seal_bytes(data, PURPOSE),
        content_type=detected.mime,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        status=VerificationStatus.PENDING,
    )
    session.add(document)
    session.flush()
    activity.record(
        session,
        "document.uploaded",
        user_id=user_id,
        entity=document,
        kind=kind.value,
        content_type=detected.mime,
        size=len(data),
    )
    return document


def of_user(session: Session, user_id: int) -> list[Document]:
    """A person's documents, newest first."""
    return list(
        session.scalars(
            select(Document).where(Document.user_id == user_id).order_by(Document.created_at.desc())
        )
    )


def read(document: Document, folder: Path, ring: KeyRing) -> bytes:
    """The document's bytes as uploaded."""
    if document.sealed_content is not None:
        return ring.open_bytes(document.sealed_content, PURPOSE)
    return ring.open_bytes(path_of(document, folder).read_bytes(), PURPOSE)


def move_to_database(session: Session, folder: Path, ring: KeyRing) -> list[Path]:
    """Bring documents still in the upload folder into the database (sealed under the current
    key); the files they came from, for the caller to delete once this is committed."""
    moved = []
    for document in session.scalars(select(Document).where(Document.sealed_content.is_(None))):
        path = path_of(document, folder)
        if not path.exists():
            continue
        blob = path.read_bytes()
        data = ring.open_bytes(blob, PURPOSE) if blob.startswith(MAGIC) else blob
        document.sealed_content = ring.seal_bytes(data, PURPOSE)
        moved.append(path)
    session.flush()
    return moved


def reseal_files(session: Session, folder: Path, ring: KeyRing) -> int:
    """Seal every stored document again under the ring's current key (files stored before
    sealing are sealed for the first time); how many were rewritten."""
    count = 0
    for document in session.scalars(select(Document).where(Document.sealed_content.is_not(None))):
        if ring.file_needs_resealing(document.sealed_content):
            data = ring.open_bytes(document.sealed_content, PURPOSE)
            document.sealed_content = ring.seal_bytes(data, PURPOSE)
            count += 1
    for document in session.scalars(select(Document).where(Document.sealed_content.is_(None))):
        path = path_of(document, folder)
        if not path.exists():
            continue
        blob = path.read_bytes()
        if not ring.file_needs_resealing(blob):
            continue
        data = ring.open_bytes(blob, PURPOSE) if blob.startswith(MAGIC) else blob
        temporary = path.with_suffix(".resealing")
        temporary.write_bytes(ring.seal_bytes(data, PURPOSE))
        temporary.replace(path)  # atomic: a crash leaves the old file or the new one
        count += 1
    return count


def path_of(document: Document, folder: Path) -> Path:
    """Where a document's bytes live."""
    return folder / document.stored_name


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as error:
        raise ValidationFailed({"file": "This Word document is damaged."}) from error
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED:
        raise ValidationFailed({"file": "This Word document unpacks to more than we accept."})


def _safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name.strip() or "document"
    return "".join(ch for ch in name if ch.isprintable() and ch not in '"<>')[:200]


KIND_NAMES = {"pdf": "PDF", "jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "doc": "Word document"}


def _kinds(allowed: tuple[str, ...]) -> str:
    """('pdf', 'jpg', 'jpeg', 'docx') as 'a PDF, JPEG or Word document'."""
    names = list(
        dict.fromkeys(KIND_NAMES.get(t, KIND_NAMES.get(t[:-1], t.upper())) for t in allowed)
    )
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"a {listed}"


def _size(limit: int) -> str:
    """10485760 as '10 MB', 2048 as '2 KB' (the limit is set in bytes)."""
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if limit >= unit:
            return f"{limit / unit:,.4g} {name}"
    return f"{limit:,} bytes"
