"""Two-step sign-in: a time-based code from an authenticator app, or a one-time recovery code.

The TOTP seed is sealed with AES-GCM (`sealing.KeyRing`) because the server must read it back;
a code's time step is remembered so no code is accepted twice. Recovery codes carry 120 random
bits, are shown once and stored as SHA-256 digests (with that much entropy a fast hash is safe),
and each works once. Turning it on, using a recovery code and turning it off are logged and
the owner is told.
"""

import base64
import hashlib
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.models import Passkey, RecoveryCode, User
from app.services.accounts import throttle
from app.services.errors import ValidationFailed
from app.services.platform import activity, notifications
from app.services.platform.sealing import KeyRing

PURPOSE = "totp-seed"
ISSUER = "CommunityLend"
RECOVERY_CODES = 10
WRONG = "That code is not right: use the current one from your app, or a recovery code."
PAUSED = "Too many wrong codes: try again in a few minutes."


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """What the QR code holds: otpauth://totp/CommunityLend:email?secret=…"""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def enable(session: Session, user: User, secret: str, code: str, ring: KeyRing, now: datetime):
    """Turn two-step sign-in on once `code` proves the app holds `secret`; the recovery codes
    (shown once, never again)."""
    step = _matching_step(secret, code, now, last=None)
    if step is None:
        raise ValidationFailed({"code": WRONG})
    user.totp_secret_sealed = ring.seal(secret, PURPOSE)
    user.mfa_enabled_at, user.totp_last_step = now, step
    codes = _new_recovery_codes(session, user)
    activity.record(session, "mfa.enabled", user_id=user.id, entity=user)
    _tell(session, user, "Two-step sign-in is on", "Signing in now also asks for a code.")
    return codes


def check(session: Session, user: User, code: str, ring: KeyRing, now: datetime) -> str | None:
    """None when `code` is accepted, else why not; misses count towards the same pause as
    wrong passwords (`throttle`), so six digits cannot be guessed at leisure."""
    if throttle.paused_until(session, user.email, now) is not None:
        return PAUSED
    if verify(session, user, code, ring, now):
        throttle.clear(session, user.email)
        activity.record(session, "auth.second_factor_passed", user_id=user.id, entity=user)
        return None
    throttle.record_failure(session, user.email, now)
    activity.record(session, "auth.second_factor_failed", user_id=user.id, entity=user)
    return WRONG


def verify(session: Session, user: User, code: str, ring: KeyRing, now: datetime) -> bool:
    """True for the current TOTP code (never one already used) or an unused recovery code."""
    if user.mfa_enabled_at is None:
        return False
    code = "".join(code.split()).replace("-", "").upper()
    if code.isdigit() and len(code) == 6:
        if user.totp_secret_sealed is None:  # passkeys only: no app codes to check
            return False
        secret = ring.open(user.totp_secret_sealed, PURPOSE)
        step = _matching_step(secret, code, now, last=user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
        return step is not None
    return _use_recovery_code(session, user, code, now)


def disable(session: Session, user: User) -> None:
    """Turn two-step sign-in off: the app's seed, the recovery codes and every passkey go."""
    user.totp_secret_sealed = user.mfa_enabled_at = user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    activity.record(session, "mfa.disabled", user_id=user.id, entity=user)
    _tell(session, user, "Two-step sign-in is off", "Signing in now asks for your password only.")


def regenerate_codes(session: Session, user: User) -> list[str]:
    codes = _new_recovery_codes(session, user)
    activity.record(session, "mfa.recovery_codes_replaced", user_id=user.id, entity=user)
    return codes


def codes_left(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )


def reseal(session: Session, ring: KeyRing) -> int:
    """Seal every seed again under the ring's current key (after adding a key); how many."""
    count = 0
    for user in session.scalars(select(User).where(User.totp_secret_sealed.is_not(None))):
        if ring.needs_resealing(user.totp_secret_sealed):
            user.totp_secret_sealed = ring.seal(
                ring.open(user.totp_secret_sealed, PURPOSE), PURPOSE
            )
            count += 1
    return count


def _matching_step(secret: str, code: str, now: datetime, last: int | None) -> int | None:
    """The time step (30 s) whose code is `code`, allowing one step of clock drift either way;
    None if none matches or it is not after `last`."""
    totp, current = pyotp.TOTP(secret), int(now.timestamp()) // 30
    for step in (current - 1, current, current + 1):
        if (last is None or step > last) and secrets.compare_digest(totp.at(step * 30), code):
            return step
    return None


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [base64.b32encode(secrets.token_bytes(15)).decode() for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(code)) for code in codes)
    return ["-".join(code[i : i + 4] for i in range(0, 24, 4)) for code in codes]


def _use_recovery_code(session: Session, user: User, code: str, now: datetime) -> bool:
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    ).rowcount
    if used:
        left = codes_left(session, user.id)
        activity.record(session, "mfa.recovery_code_used", user_id=user.id, codes_left=left)
        _tell(
            session,
            user,
            "A recovery code was used",
            f"Someone signed in with one of your recovery codes; {left} are left. If it was not "
            "you, set a new password and replace your codes.",
        )
    return bool(used)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _tell(session: Session, user: User, title: str, body: str) -> None:
    notifications.notify(
        session, user.id, "auth.mfa_changed", title, body, link=("auth.mfa_show", {})
    )
