"""The audit trail: one row per sign-in, money movement, state change and admin action."""

from contextvars import ContextVar

from sqlalchemy.orm import Session

from app.models import ActivityLog

# Who is acting, when a request is: the web layer sets it per request (`acting_from`) so every
# row written while serving it carries the address and agent, money and admin actions included,
# without the services knowing about requests. Jobs run with none.
_CLIENT: ContextVar[tuple[str | None, str | None]] = ContextVar("client", default=(None, None))


def acting_from(ip_address: str | None, user_agent: str | None) -> None:
    """Name the client of the request being served (its rows record it)."""
    _CLIENT.set((ip_address, user_agent))


def current_client() -> tuple[str | None, str | None]:
    """(address, agent) of the request being served, for rows written in SQL directly."""
    return _CLIENT.get()


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
    """Add an activity row in the caller's transaction (address and agent: as given, else the
    current request's)."""
    client_ip, client_agent = _CLIENT.get()
    ip_address, user_agent = ip_address or client_ip, user_agent or client_agent
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
