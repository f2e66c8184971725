"""Idempotency keys: the same key twice has one effect (claimed in the caller's transaction)."""

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import IdempotencyKey
from app.services.errors import IdempotencyMismatch, ValidationFailed

MAX_KEY_LENGTH = 120


def request_hash(payload: dict) -> str:
    """A stable fingerprint of a request's meaningful fields."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def claim(
    session: Session, user_id: int, key: str, scope: str, payload: dict
) -> IdempotencyKey | None:
    """Claim `key` for this request, or return the finished record of an earlier identical one.

    The claim lives in the caller's transaction: a concurrent request with the same key waits
    on the unique index until this one commits (then replays it) or rolls back (then runs).
    """
    check_key(key)
    fingerprint = request_hash(payload)
    inserted = session.execute(
        insert(IdempotencyKey)
        .values(
            user_id=user_id,
            key=key,
            scope=scope,
            request_hash=fingerprint,
            status="in_progress",
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return None
    return existing(session, user_id, key, scope, payload)


def check_key(key: str) -> None:
    """Every keyed request passes here: a key PostgreSQL cannot store (NUL) is refused too."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            {"idempotency_key": "A request key of 1 to 120 characters is required."}
        )
    if "\x00" in key:
        raise ValidationFailed({"idempotency_key": "A request key cannot contain NUL characters."})


def existing(
    session: Session, user_id: int, key: str, scope: str, payload: dict
) -> IdempotencyKey | None:
    """The record of an earlier request with this key (None if there was none); refused when
    that request was a different one."""
    record = session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).one_or_none()
    if record is not None and (
        record.scope != scope or record.request_hash != request_hash(payload)
    ):
        raise mismatch()
    return record


def mismatch() -> IdempotencyMismatch:
    return IdempotencyMismatch("This request key was already used for a different request.")


def complete(
    session: Session,
    user_id: int,
    key: str,
    resource_type: str,
    resource_id: int | None,
    response_code: int = 201,
) -> None:
    """Record what the claimed request produced, so a repeat can replay it."""
    record = session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).one()
    record.status = "done"
    record.resource_type = resource_type
    record.resource_id = resource_id
    record.response_code = response_code
    record.completed_at = datetime.now(UTC)
