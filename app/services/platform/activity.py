"""The audit trail: one row per sign-in, money movement, state change and admin action."""

from sqlalchemy.orm import Session

from app.models import ActivityLog


def record(
    session: Session,
    action: str,
    *,
    user_id: int | None = None,
    entity: object | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    **details,
) -> ActivityLog:
    """Add an activity row in the caller's transaction."""
    entry = ActivityLog(
        action=action,
        user_id=user_id,
        entity_type=entity.__tablename__ if entity is not None else None,
        entity_id=getattr(entity, "id", None),
        details={key: _jsonable(value) for key, value in details.items()},
        ip_address=ip_address,
        user_agent=(user_agent or "")[:500] or None,
    )
    session.add(entry)
    return entry


def _jsonable(value: object) -> object:
    if isinstance(value, (str, int, float, bool, type(None), list, dict)):
        return value
    return str(value)
