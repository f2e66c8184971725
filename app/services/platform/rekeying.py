"""After a new key joins ENCRYPTION_KEYS: seal everything again under it.

Sealed columns are found from the models (every column of a sealed type), TOTP seeds and stored
documents from their services; values already under the current key are left alone, so the
command can be run again after an interruption. Once it reports nothing left, the old key can
leave the ring.
"""

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.models import Base
from app.models.sealed import SealedText
from app.services.accounts import documents, mfa
from app.services.platform.sealing import KeyRing


def sealed_columns() -> list[tuple[str, str, str]]:
    """(table, column, purpose) of every sealed column in the schema."""
    return [
        (table.name, column.name, column.type.purpose)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, SealedText)
    ]


def rotate(session: Session, ring: KeyRing, upload_folder: Path) -> dict[str, int]:
    """How many values and files were sealed again, by kind."""
    return {
        "column values": _reseal_columns(session, ring),
        "totp seeds": mfa.reseal(session, ring),
        "documents": documents.reseal_files(session, upload_folder, ring),
    }


def _reseal_columns(session: Session, ring: KeyRing) -> int:
    count = 0
    for table, column, purpose in sealed_columns():
        rows = session.execute(
            text(f"SELECT id, {column} AS value FROM {table} WHERE {column} IS NOT NULL")
        ).all()
        stale = [
            {"id": row.id, "value": ring.seal(ring.open(row.value, purpose), purpose)}
            for row in rows
            if ring.needs_resealing(row.value)
        ]
        if stale:
            session.execute(text(f"UPDATE {table} SET {column} = :value WHERE id = :id"), stale)
        count += len(stale)
    return count
