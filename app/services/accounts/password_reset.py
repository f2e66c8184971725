"""Forgotten passwords (and imported accounts' first password): a signed, one-time, timed link.

The token is signed with the app's secret and carries a fingerprint of the current password
hash, so it stops working once it has been used (the hash changes) and after `max_age`. It is
never stored: the notification says a link was emailed, and the email job mints the token as it
sends (`background.emails`), keeping only a redacted copy. It travels in the query string of a
page that moves it into the session at once, so it stays out of paths, history and Referer.
"""

import hashlib

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User
from app.services.accounts import accounts, api_tokens, passwords, throttle
from app.services.accounts.accounts import ClientInfo
from app.services.errors import ValidationFailed
from app.services.platform import activity, notifications

SALT = "communitylend-password-reset"
MAX_AGE_SECONDS = 3600


KIND = "auth.password_reset"  # the notification whose email carries a fresh link


def request_reset(session: Session, email: str, client: ClientInfo) -> None:
    """Email a reset link to an active account with this email; say nothing about others."""
    try:
        email = accounts.normalise_email(email)
    except ValidationFailed:
        return
    user = session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    activity.record(
        session,
        "auth.password_reset_requested",
        user_id=user.id if user else None,
        email=email,
        ip_address=client.ip_address,
        user_agent=client.user_agent,
    )
    if user is None:
        return
    notifications.notify(
        session,
        user.id,
        KIND,
        "Set a new password",
        "Someone (we hope you) asked to set a new password for your CommunityLend account. The "
        "link works once, for one hour. If it was not you, ignore this email.",
    )


def make_token(user: User, secret: str | list[str]) -> str:
    return _serializer(secret).dumps({"id": user.id, "fp": _fingerprint(user.password_hash)})


def user_for_token(
    session: Session, token: str, secret: str | list[str], max_age: int = MAX_AGE_SECONDS
) -> User | None:
    """The account a live, unused token names, else None."""
    try:
        data = _serializer(secret).loads(token, max_age=max_age)
    except BadSignature:  # also SignatureExpired
        return None
    user = session.get(User, data.get("id")) if isinstance(data, dict) else None
    if user is None or not user.is_active or data.get("fp") != _fingerprint(user.password_hash):
        return None
    return user


def reset(
    session: Session, token: str, new_password: str, secret: str | list[str], client: ClientInfo
) -> User:
    """Set the new password; every session and API token of the account ends."""
    user = user_for_token(session, token, secret)
    if user is None:
        raise ValidationFailed({"token": "This link has expired or was already used."})
    weak = passwords.weakness(new_password, [user.email, user.first_name, user.last_name])
    if weak:
        raise ValidationFailed({"password": weak})
    user.password_hash = passwords.hash_password(new_password)
    throttle.clear(session, user.email)  # the owner proved themselves: sign-in resumes
    accounts.end_all_sessions(session, user.id)
    api_tokens.revoke_all(session, user.id)
    activity.record(
        session,
        "auth.password_reset",
        user_id=user.id,
        entity=user,
        ip_address=client.ip_address,
        user_agent=client.user_agent,
    )
    return user


def _serializer(secret: str | list[str]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]
