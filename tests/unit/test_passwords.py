"""Password hashing cost and strength rules."""

from argon2 import PasswordHasher

from app.services.accounts import passwords


def test_production_hash_parameters_meet_asvs():
    # The app only lowers cost when ARGON2_* is configured (tests do); defaults are these.
    hashed = PasswordHasher().hash("x")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_hash_and_verify_round_trip():
    hashed = passwords.hash_password("violet anchor harvest 27")
    assert passwords.verify_password(hashed, "violet anchor harvest 27")
    assert not passwords.verify_password(hashed, "violet anchor harvest 28")
    assert not passwords.verify_password(None, "anything at all")
    assert not passwords.verify_password("not-a-hash", "anything at all")


def test_weak_passwords_are_explained():
    assert passwords.weakness("short1") == "Use at least 10 characters."
    assert "easy to guess" in passwords.weakness("password123") or passwords.weakness("password123")
    assert passwords.weakness("qwertyuiop") is not None
    assert passwords.weakness("x" * 129) == "Use at most 128 characters."


def test_passwords_built_from_the_users_own_details_are_weak():
    assert passwords.weakness("margaretsmith", ["margaret", "smith"]) is not None


def test_a_long_phrase_is_accepted():
    assert passwords.weakness("violet anchor harvest 27") is None
