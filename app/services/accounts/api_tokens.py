"""Bearer tokens for the JSON API: random, stored only as a hash, with expiry and revocation."""

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.models import ApiToken, User
from app.services.accounts import passwords

TOKEN_BYTES = 32


def issue(session: Session, user: User, *, days: int, name: str = "api") -> tuple[str, ApiToken]:
    """A new token for `user`: the secret (shown once) and its stored record."""
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        user_id=user.id,
        token_hash=passwords.token_digest(secret),
        name=name[:100],
        expires_at=datetime.now(UTC) + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    return secret, token


# Built once: every API request runs it, and building it cost more than its plan lookup.
LIVE_TOKEN = (
    select(ApiToken, User)
    .join(User, User.id == ApiToken.user_id)
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
    )
)


def user_for(session: Session, secret: str) -> User | None:
    """The active user a live token belongs to, else None (expired, revoked, unknown)."""
    now = datetime.now(UTC)
    row = session.execute(
        LIVE_TOKEN, {"digest": passwords.token_digest(secret), "now": now}
    ).first()
    if row is None or not row.User.is_active:
        return None
    token, user = row
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now  # coarse, so reads do not write on every request
    return user


def revoke(session: Session, secret: str) -> bool:
    """Revoke a token; True when it was live."""
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == passwords.token_digest(secret), ApiToken.revoked_at.is_(None)
        )
    )
    if token is None:
        return False
    token.revoked_at = datetime.now(UTC)
    return True


def revoke_all(session: Session, user_id: int) -> None:
    """On suspension or password change: every token of the user stops working."""
    for token in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = datetime.now(UTC)
