"""Password hashing (argon2id) and strength rules."""

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_STRENGTH = 3  # zxcvbn's 0-4 scale: 3 is "safely unguessable" (~10^8 guesses)
# Breached passwords (ASVS 6.2.12): the 30,000 most common in Mark Burnett's corpus of 10
# million leaked passwords, as zxcvbn ships them.
BREACHED = frozenset(FREQUENCY_LISTS["passwords"])
# What people add to a leaked password to get it past a rule: digits and symbols at the end.
ADDED_AT_THE_END = "0123456789!@#$%^&*()-_=+.,?~ "

# argon2-cffi defaults (argon2id, t=3, m=64 MiB, p=4) meet ASVS 5.0 appendix C.
_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps the timing of both paths alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def configure(time_cost: int | None = None, memory_cost: int | None = None) -> None:
    """Change hashing cost (tests lower it; production keeps the defaults)."""
    global _hasher, _DUMMY_HASH
    defaults = PasswordHasher()
    _hasher = PasswordHasher(
        time_cost=time_cost or defaults.time_cost,
        memory_cost=memory_cost or defaults.memory_cost,
    )
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def token_digest(secret: str) -> str:
    """How a random bearer secret (session cookie, API token) is stored: SHA-256, hex.

    A fast hash is right here: the secret has 256 random bits, nothing to guess.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; spends the same effort when there is no hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def weakness(password: str, user_inputs: list[str] | tuple[str, ...] = ()) -> str | None:
    """Why `password` is too weak, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    # zxcvbn refuses more than 72 characters unless told otherwise; the policy allows 128.
    if _breached(password):
        return (
            "This password is in lists of leaked passwords, which attackers try first. "
            "Try a longer phrase of unrelated words."
        )
    inputs = [value for value in user_inputs if value]
    result = zxcvbn(password, user_inputs=inputs, max_length=MAX_LENGTH)
    if result["score"] < MIN_STRENGTH:
        warning = result["feedback"].get("warning") or "This password is easy to guess."
        return f"{warning} Try a longer phrase of unrelated words."
    return None


def _breached(password: str) -> bool:
    """In the breach list as leaked, in any case, or with digits and symbols added at the end
    (a year, a "!"); a leaked core shorter than six characters is left to the strength rule."""
    lowered = password.lower()
    for end in range(len(lowered), 5, -1):
        if lowered[:end] in BREACHED:
            return True
        if lowered[end - 1] not in ADDED_AT_THE_END:
            return False
    return False
