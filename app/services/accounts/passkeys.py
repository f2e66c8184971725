"""Passkeys (WebAuthn, py_webauthn): a second factor, or signing in without a password.

The authenticator proves possession of a private key and that it verified the person (PIN or
biometric), so a passkey alone is two factors. Registration asks for a discoverable credential,
so the browser can offer it at sign-in without an email typed first. The challenge is the
caller's to keep (the web layer keeps it in the session) and to pass back; every verification
checks it, the relying party id and the origin; a signature counter that goes backwards (a
cloned authenticator) is refused by the library.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.models import Passkey, User
from app.services.accounts import mfa
from app.services.errors import ValidationFailed
from app.services.platform import activity

REQUIRED = UserVerificationRequirement.REQUIRED


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the site's domain, its name, and the origin pages come from."""

    id: str
    name: str
    origin: str


def of_user(session: Session, user_id: int) -> list[Passkey]:
    return list(
        session.scalars(select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id))
    )


def registration_options(session: Session, user: User, rp: RelyingParty) -> tuple[str, bytes]:
    """The options for navigator.credentials.create (JSON) and their challenge."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=user.email,
        user_id=str(user.id).encode(),
        user_display_name=user.full_name,
        exclude_credentials=_descriptors(session, user.id),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=REQUIRED
        ),
    )
    return options_to_json(options), options.challenge


def register(
    session: Session,
    user: User,
    credential: str,
    challenge: bytes,
    rp: RelyingParty,
    name: str,
    now: datetime,
) -> list[str] | None:
    """Keep the new passkey; the recovery codes (shown once) when it is the first second
    factor, else None."""
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError) as error:
        raise ValidationFailed(
            {"passkey": "The passkey could not be checked; try again."}
        ) from error
    session.add(
        Passkey(
            user_id=user.id,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=(name.strip() or "Passkey")[:100],
        )
    )
    first = user.mfa_enabled_at is None
    user.mfa_enabled_at = user.mfa_enabled_at or now
    activity.record(session, "mfa.passkey_added", user_id=user.id, entity=user)
    return mfa.regenerate_codes(session, user) if first else None


def authentication_options(
    session: Session, rp: RelyingParty, user_id: int | None = None
) -> tuple[str, bytes]:
    """Options for navigator.credentials.get: any passkey of this site (sign-in without a
    password), or only `user_id`'s (the second step after the password)."""
    allow = _descriptors(session, user_id) if user_id is not None else []
    options = generate_authentication_options(
        rp_id=rp.id, allow_credentials=allow, user_verification=REQUIRED
    )
    return options_to_json(options), options.challenge


def authenticate(
    session: Session,
    credential: str,
    challenge: bytes,
    rp: RelyingParty,
    now: datetime,
    user_id: int | None = None,
) -> User | None:
    """The active person whose passkey signed this challenge (only `user_id`'s, if given)."""
    passkey = _passkey_named_in(session, credential)
    if passkey is None or (user_id is not None and passkey.user_id != user_id):
        return None
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError):
        activity.record(session, "auth.passkey_refused", user_id=passkey.user_id)
        return None
    passkey.sign_count, passkey.last_used_at = verified.new_sign_count, now
    user = session.get(User, passkey.user_id)
    return user if user.is_active else None


def remove(session: Session, user: User, passkey_id: int) -> bool:
    """Forget one of the person's passkeys; two-step sign-in stays on while a factor is left."""
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        return False
    session.delete(passkey)
    session.flush()
    left = session.scalar(select(func.count()).where(Passkey.user_id == user.id))
    if not left and user.totp_secret_sealed is None:
        mfa.disable(session, user)
    activity.record(session, "mfa.passkey_removed", user_id=user.id, entity=user)
    return True


def _descriptors(session: Session, user_id: int) -> list[PublicKeyCredentialDescriptor]:
    ids = session.scalars(select(Passkey.credential_id).where(Passkey.user_id == user_id))
    return [PublicKeyCredentialDescriptor(id=credential_id) for credential_id in ids]


def _passkey_named_in(session: Session, credential: str) -> Passkey | None:
    try:
        raw_id = base64url_to_bytes(json.loads(credential)["rawId"])
    except (ValueError, KeyError, TypeError):
        return None
    return session.scalar(select(Passkey).where(Passkey.credential_id == raw_id))
