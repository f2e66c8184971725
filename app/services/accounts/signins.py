"""Where a person is signed in: their live sessions and API tokens, and ending any or all.

A session is live until it is ended, idles past `IDLE_TIMEOUT` or outlives `ABSOLUTE_TIMEOUT`
(the same rule `accounts.session_user` applies); a token until revoked or expired. Every ending
is written to the activity log with the address and agent it came from.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from ua_parser import parse

from app.models import ApiToken, UserSession
from app.services.accounts import accounts, passwords
from app.services.accounts.accounts import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, ClientInfo
from app.services.platform import activity


@dataclass(frozen=True)
class SignIn:
    id: int
    device: str
    ip_address: str | None
    started_at: datetime
    last_seen_at: datetime
    is_this_one: bool


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime


def device(user_agent: str | None) -> str:
    """A person's name for the browser and system behind `user_agent`."""
    if not user_agent:
        return "Unknown device"
    found = parse(user_agent[:500])
    browser = found.user_agent.family if found.user_agent else None
    system = found.os.family if found.os else None
    if not browser or browser == "Other":
        return user_agent[:60]
    return f"{browser} on {system}" if system and system != "Other" else browser


def live_sessions(session: Session, user_id: int, current_token: str | None, now: datetime):
    """The user's sessions that still work, the current one first, then most recent."""
    current = passwords.token_digest(current_token) if current_token else None
    rows = session.scalars(
        select(UserSession).where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.last_seen_at > now - IDLE_TIMEOUT,
            UserSession.created_at > now - ABSOLUTE_TIMEOUT,
        )
    ).all()
    found = [
        SignIn(
            row.id,
            device(row.user_agent),
            row.ip_address,
            row.created_at,
            row.last_seen_at,
            row.token_hash == current,
        )
        for row in rows
    ]
    return sorted(found, key=lambda s: (not s.is_this_one, -s.last_seen_at.timestamp()))


def live_tokens(session: Session, user_id: int, now: datetime) -> list[Token]:
    rows = session.scalars(
        select(ApiToken)
        .where(
            ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
        )
        .order_by(ApiToken.created_at.desc())
    ).all()
    return [Token(r.id, r.name, r.created_at, r.last_used_at, r.expires_at) for r in rows]


def end_session(
    session: Session, user_id: int, session_id: int, client: ClientInfo, now: datetime
) -> bool:
    """End one of the user's own sessions; False when there is no such live one of theirs."""
    ended = session.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    ).rowcount
    if ended:
        _record(session, "auth.session_ended", user_id, client, session_id=session_id)
    return bool(ended)


def end_other_sessions(session: Session, user_id: int, keep_token: str, client: ClientInfo) -> int:
    ended = accounts.end_all_sessions(session, user_id, keep_token=keep_token)
    _record(session, "auth.other_sessions_ended", user_id, client, count=ended)
    return ended


def revoke_token(
    session: Session, user_id: int, token_id: int, client: ClientInfo, now: datetime
) -> bool:
    """Revoke one of the user's own tokens; False when there is no such live one of theirs."""
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    if revoked:
        _record(session, "auth.token_revoked", user_id, client, token_id=token_id)
    return bool(revoked)


def _record(session: Session, action: str, user_id: int, client: ClientInfo, **details) -> None:
    activity.record(
        session,
        action,
        user_id=user_id,
        ip_address=client.ip_address,
        user_agent=client.user_agent,
        **details,
    )
