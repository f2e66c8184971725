"""Accounts at identity providers (Google, GitHub), linked to people here.

A provider's word alone never opens someone's account: an identity is linked only while its
owner is signed in here, or right after they sign in with their own password or passkey. Its
subject (the provider's stable id) names it; the email is kept for display.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OAuthIdentity, User
from app.services.platform import activity, notifications

PROVIDER_NAMES = {"google": "Google", "github": "GitHub"}


def user_for(session: Session, provider: str, subject: str, now: datetime) -> User | None:
    """The active person this provider account is linked to, if any."""
    identity = session.scalar(
        select(OAuthIdentity).where(
            OAuthIdentity.provider == provider, OAuthIdentity.subject == subject
        )
    )
    if identity is None:
        return None
    identity.last_used_at = now
    user = session.get(User, identity.user_id)
    return user if user.is_active else None


def link(session: Session, user: User, provider: str, subject: str, email: str) -> bool:
    """Link the provider account to `user` (once); False if it is someone else's already."""
    existing = session.scalar(
        select(OAuthIdentity).where(
            OAuthIdentity.provider == provider, OAuthIdentity.subject == subject
        )
    )
    if existing is not None:
        return existing.user_id == user.id
    session.add(OAuthIdentity(user_id=user.id, provider=provider, subject=subject, email=email))
    activity.record(session, "auth.identity_linked", user_id=user.id, provider=provider)
    notifications.notify(
        session,
        user.id,
        "auth.identity_linked",
        f"{PROVIDER_NAMES[provider]} is linked to your account",
        f"You can now sign in with {PROVIDER_NAMES[provider]} ({email}). If this was not you, set a new "
        "password and unlink it from your profile.",
        link=("auth.mfa_show", {}),
    )
    return True


def of_user(session: Session, user_id: int) -> list[OAuthIdentity]:
    return list(session.scalars(select(OAuthIdentity).where(OAuthIdentity.user_id == user_id)))
