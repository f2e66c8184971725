"""Accounts: registration, sign-in sessions, passwords and profiles."""

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import EmploymentStatus, Role, User, UserSession, VerificationStatus
from app.services.accounts import api_tokens, passwords, throttle
from app.services.errors import DomainError, ValidationFailed
from app.services.platform import activity, notifications, outbox

SELF_SERVICE_ROLES = (Role.BORROWER, Role.LENDER)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
MINIMUM_AGE_YEARS = 18
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "date_of_birth",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "annual_income",
    "net_worth",
    "employment_status",
)


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, for the audit trail."""

    ip_address: str | None = None
    user_agent: str | None = None


def normalise_email(email: str) -> str:
    """The canonical, lower-cased form of an email address; raises on a bad one."""
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationFailed({"email": str(error)}) from error
    return result.normalized.lower()


def email_taken(session: Session, email: str) -> bool:
    """True when an account already uses `email`."""
    return session.scalar(select(User.id).where(User.email == email.lower())) is not None


def register(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role,
    first_name: str,
    last_name: str,
    client: ClientInfo = ClientInfo(),
    allow_admin: bool = False,
) -> User:
    """Create an account; raises ValidationFailed (nothing created) on any bad field."""
    email = checked_sign_up(email, password, role, first_name, last_name, allow_admin)
    if email_taken(session, email):
        raise ValidationFailed({"email": "An account with this email already exists."})
    return create_user(
        session,
        email=email,
        password_hash=passwords.hash_password(password),
        role=role,
        first_name=first_name,
        last_name=last_name,
        client=client,
    )


def checked_sign_up(
    email: str, password: str, role: Role, first_name: str, last_name: str, allow_admin=False
) -> str:
    """The normalised email, once the role and password pass; else ValidationFailed."""
    if role not in SELF_SERVICE_ROLES and not allow_admin:
        raise ValidationFailed({"role": "Choose borrower or lender."})
    email = normalise_email(email)
    weak = passwords.weakness(password, [email, first_name, last_name, "communitylend"])
    if weak:
        raise ValidationFailed({"password": weak})
    return email


def create_user(
    session: Session,
    *,
    email: str,
    password_hash: str,
    role: Role,
    first_name: str,
    last_name: str,
    client: ClientInfo = ClientInfo(),
) -> User:
    """The account row, its audit entry and its welcome job, for checked and normalised values;
    ValidationFailed when a concurrent registration took the email first."""
    user = User(
        email=email,
        password_hash=password_hash,
        role=role,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as error:  # a concurrent registration won the race
        raise ValidationFailed({"email": "An account with this email already exists."}) from error
    activity.record(
        session, "user.registered", user_id=user.id, entity=user, role=role.value, **_client(client)
    )
    outbox.add(
        session,
        "welcome_user",
        {"user_id": user.id},
        dedupe_key=f"welcome-{user.id}",
        user_id=user.id,
    )
    return user


def authenticate(session: Session, email: str, password: str, client: ClientInfo) -> User:
    """The user with these credentials; raises DomainError with one vague message otherwise,
    and while sign-in with this email is paused (`throttle`), without trying the password."""
    email = _typed_email(email)
    now = datetime.now(UTC)
    until = throttle.paused_until(session, email, now)
    if until is not None:
        activity.record(session, "auth.sign_in_paused", email=email, **_client(client))
        raise DomainError(_paused(until, now))
    user = session.scalar(select(User).where(User.email == email))
    if not passwords.verify_password(user.password_hash if user else None, password):
        _failed(session, user, email, now, client)
    if not user.is_active:
        activity.record(
            session,
            "auth.sign_in_refused",
            user_id=user.id,
            entity=user,
            reason="suspended",
            **_client(client),
        )
        raise DomainError("This account is suspended. Contact support.")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_login_count = 0
    user.last_login_at = now
    throttle.clear(session, email)
    activity.record(session, "auth.signed_in", user_id=user.id, entity=user, **_client(client))
    return user


def _typed_email(email: str) -> str:
    email = email.replace("\x00", "")  # PostgreSQL text cannot hold NUL; no account has one
    try:
        return normalise_email(email)
    except ValidationFailed:
        return email.strip().lower()


def _failed(session, user: User | None, email: str, now: datetime, client: ClientInfo):
    """Count the failure, pause the address when due (telling an owner once), and refuse."""
    failures, until = throttle.record_failure(session, email, now)
    if user is not None:
        user.failed_login_count += 1
    user_id = user.id if user else None
    activity.record(session, "auth.sign_in_failed", user_id=user_id, email=email, **_client(client))
    if until is None:
        raise DomainError("Email or password is incorrect.")
    if failures == throttle.PAUSE_AFTER and user is not None:
        activity.record(
            session, "auth.account_locked", user_id=user.id, entity=user, **_client(client)
        )
        notifications.notify(
            session,
            user.id,
            "auth.sign_in_paused",
            "Sign-in to your account was paused",
            f"After {failures} failed attempts in a row, sign-in with your email is paused for a "
            "while. If that was not you, someone may be guessing your password: choose a new "
            "one from the sign-in page.",
            link=("auth.password_forgot", {}),
        )
    raise DomainError(_paused(until, now))


def _paused(until: datetime, now: datetime) -> str:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed sign-ins with this email. Try again in {minutes} {unit}, or set a new "
        "password from the link below."
    )


def start_session(session: Session, user: User, client: ClientInfo) -> str:
    """Record a new sign-in and return its secret token (the cookie carries only this)."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=passwords.token_digest(token),
            ip_address=client.ip_address,
            user_agent=(client.user_agent or "")[:500] or None,
        )
    )
    session.flush()
    return token


def session_user(session: Session, user_id: int, token: str | None) -> User | None:
    """The signed-in user if `token` names a live session of theirs, else None."""
    if not token:
        return None
    now = datetime.now(UTC)
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(
            UserSession.token_hash == passwords.token_digest(token),
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    user_session, user = row
    expired = (
        now - user_session.last_seen_at > IDLE_TIMEOUT
        or now - user_session.created_at > ABSOLUTE_TIMEOUT
    )
    if expired or not user.is_active:
        user_session.revoked_at = now
        return None
    if now - user_session.last_seen_at > timedelta(minutes=1):
        user_session.last_seen_at = now
    return user


def end_session(session: Session, token: str | None) -> None:
    """Revoke the sign-in named by `token`; a copy of its cookie no longer works."""
    if token:
        session.execute(
            update(UserSession)
            .where(
                UserSession.token_hash == passwords.token_digest(token),
                UserSession.revoked_at.is_(None),
            )
            .values(revoked_at=datetime.now(UTC))
        )


def end_all_sessions(session: Session, user_id: int, keep_token: str | None = None) -> int:
    """Revoke every sign-in of a user except `keep_token`'s; returns how many ended."""
    query = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep_token:
        query = query.where(UserSession.token_hash != passwords.token_digest(keep_token))
    return session.execute(query.values(revoked_at=datetime.now(UTC))).rowcount


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    client: ClientInfo,
    keep_token: str | None = None,
) -> None:
    """Replace the password after checking the current one; other sessions end."""
    if not passwords.verify_password(user.password_hash, current):
        raise ValidationFailed({"current_password": "The current password is not correct."})
    weak = passwords.weakness(new, [user.email, user.first_name, user.last_name])
    if weak:
        raise ValidationFailed({"new_password": weak})
    user.password_hash = passwords.hash_password(new)
    ended = end_all_sessions(session, user.id, keep_token=keep_token)
    api_tokens.revoke_all(session, user.id)  # a leaked password's API tokens die with it
    activity.record(
        session,
        "user.password_changed",
        user_id=user.id,
        entity=user,
        other_sessions_ended=ended,
        **_client(client),
    )


def update_profile(
    session: Session, user: User, changes: dict, client: ClientInfo, today: date | None = None
) -> User:
    """Apply profile `changes` (only PROFILE_FIELDS); raises ValidationFailed on bad values."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(dict.fromkeys(unknown, "This field cannot be changed here."))
    errors = _profile_errors(changes, today or date.today())
    if errors:
        raise ValidationFailed(errors)
    changed = {}
    for name, value in changes.items():
        if isinstance(value, str):
            value = value.strip() or None
        if getattr(user, name) != value:
            changed[name] = True
            setattr(user, name, value)
    if changed:
        activity.record(
            session,
            "user.profile_updated",
            user_id=user.id,
            entity=user,
            fields=sorted(changed),
            **_client(client),
        )
    return user


def create_admin(
    session: Session, email: str, password: str, first_name: str, last_name: str
) -> User:
    """Create an administrator (only the CLI calls this: there is no default admin)."""
    user = register(
        session,
        email=email,
        password=password,
        role=Role.ADMIN,
        first_name=first_name,
        last_name=last_name,
        allow_admin=True,
    )
    user.identity_status = VerificationStatus.VERIFIED
    return user


def require_active(session: Session, user_id: int, role: Role, action: str) -> User:
    """The user if they are an active `role`; a DomainError naming `action` otherwise."""
    user = session.get(User, user_id)
    reason = inactive_reason(user and user.role, user is not None and user.is_active, role, action)
    if reason:
        raise DomainError(reason)
    return user


def inactive_reason(user_role: str | None, is_active: bool, role: Role, action: str) -> str | None:
    """Why someone with `user_role` (None: nobody) may not `action` as an active `role`."""
    if user_role != role:
        return f"Only {role.value}s can {action}."
    if not is_active:
        return "This account is suspended."
    return None


def _profile_errors(changes: dict, today: date) -> dict[str, str]:
    errors = {}
    for name in ("first_name", "last_name"):
        if name in changes and not (changes[name] or "").strip():
            errors[name] = "This field is required."
    birth = changes.get("date_of_birth")
    if birth is not None:
        years = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        if years < MINIMUM_AGE_YEARS:
            errors["date_of_birth"] = f"You must be at least {MINIMUM_AGE_YEARS} years old."
        elif years > 120:
            errors["date_of_birth"] = "Enter a real date of birth."
    for name, label in (("annual_income", "Annual income"), ("net_worth", "Net worth")):
        value = changes.get(name)
        if value is not None and (not isinstance(value, Decimal) or value < 0):
            errors[name] = f"{label} cannot be negative."
    status = changes.get("employment_status")
    if status is not None and not isinstance(status, EmploymentStatus):
        errors["employment_status"] = "Choose an employment status."
    return errors


def _client(client: ClientInfo) -> dict:
    return {"ip_address": client.ip_address, "user_agent": client.user_agent}
