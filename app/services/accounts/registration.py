"""Signing up by email: the same answer whether or not the address has an account.

A sign-up is kept as a `PendingRegistration` and a link is emailed to the address; following it
creates the account. If the address already has one, its owner is emailed instead (someone
tried to register with it; sign in or reset the password). Either way the page says "check your
email", so the form cannot be used to learn who has an account. The link's token is signed,
names the pending sign-up, lasts a day and is minted as the email is sent, never stored.
"""

from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import PendingRegistration, Role, User
from app.services.accounts import accounts, passwords
from app.services.accounts.accounts import ClientInfo
from app.services.errors import ValidationFailed
from app.services.platform import activity, notifications, outbox

SALT = "communitylend-confirm-email"
MAX_AGE = timedelta(days=1)
KNOWN_ADDRESS = "auth.registration_attempt"


def start(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role,
    first_name: str,
    last_name: str,
    client: ClientInfo,
) -> None:
    """Check the fields, then email the address a link (new) or a warning (has an account)."""
    email = accounts.checked_sign_up(email, password, role, first_name, last_name)
    owner = session.scalar(select(User).where(User.email == email))
    activity.record(
        session,
        "auth.registration_started",
        user_id=owner.id if owner else None,
        email=email,
        ip_address=client.ip_address,
        user_agent=client.user_agent,
    )
    if owner is not None:
        _warn_owner(session, owner)
        return
    session.execute(delete(PendingRegistration).where(PendingRegistration.email == email))
    pending = PendingRegistration(
        email=email,
        role=role,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        password_hash=passwords.hash_password(password),
    )
    session.add(pending)
    session.flush()
    outbox.add(session, "send_registration_link", {"pending_id": pending.id})


def _warn_owner(session: Session, owner: User) -> None:
    notifications.notify(
        session,
        owner.id,
        KNOWN_ADDRESS,
        "Someone tried to register with your email",
        "Someone (perhaps you) tried to open a new CommunityLend account with this email, which "
        "already has one. Sign in instead; if you forgot your password, ask for a new one from "
        "the sign-in page. If it was not you, nothing has changed.",
        link=("auth.login", {}),
    )


def make_token(pending: PendingRegistration, secret: str | list[str]) -> str:
    return _serializer(secret).dumps({"p": pending.id, "e": pending.email})


def pending_for_token(
    session: Session, token: str, secret: str | list[str]
) -> PendingRegistration | None:
    """The sign-up a live token names, else None (tampered, expired, used or replaced)."""
    try:
        data = _serializer(secret).loads(token, max_age=int(MAX_AGE.total_seconds()))
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        return None
    pending = session.get(PendingRegistration, data["p"])
    if pending is None or pending.email != data.get("e"):
        return None
    return pending


def confirm(session: Session, token: str, secret: str | list[str], client: ClientInfo) -> User:
    """Create the account the link's sign-up describes; the link then stops working."""
    pending = pending_for_token(session, token, secret)
    if pending is None:
        raise ValidationFailed({"token": "This link has expired or was already used."})
    fields = {
        "email": pending.email,
        "password_hash": pending.password_hash,
        "role": pending.role,
        "first_name": pending.first_name,
        "last_name": pending.last_name,
    }
    session.delete(pending)
    if accounts.email_taken(session, pending.email):  # registered meanwhile by another route
        raise ValidationFailed({"token": "This email already has an account: sign in."})
    return accounts.create_user(session, **fields, client=client)


def forget_stale(session: Session, now: datetime | None = None) -> int:
    """Delete sign-ups whose link has expired; returns how many."""
    cutoff = (now or datetime.now(UTC)) - MAX_AGE
    result = session.execute(
        delete(PendingRegistration).where(PendingRegistration.created_at < cutoff)
    )
    return result.rowcount


def _serializer(secret: str | list[str]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)
