"""Hole 5: passwords of 73 to 128 characters are accepted as the policy says (they were 500s).

zxcvbn refuses to score more than 72 characters unless told its limit; the policy's limit is
128. Long passphrases are what the policy asks people for, so each form that sets a password
takes them, still refuses the weak ones, and the password works for sign-in afterwards.
"""

import pytest

from app.services.accounts import passwords
from tests.factories import UserFactory
from tests.helpers import PASSWORD

WORDS = "saffron kayak meridian lantern quarry velvet orbit thimble cobalt harbor fjord "


def _phrase(length: int) -> str:
    return (WORDS * 3)[: length - 1] + "z"


@pytest.mark.parametrize("length", [72, 73, 100, 128])
def test_sign_up_sign_in_and_change_with_a_long_passphrase(client, login, length):
    phrase = _phrase(length)
    assert len(phrase) == length and passwords.weakness(phrase) is None
    user = login(UserFactory())
    changed = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": phrase, "confirm": phrase},
    )
    assert changed.status_code == 303
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": phrase}).status_code == 303


def test_long_but_weak_is_still_refused_and_too_long_says_so(client, login):
    login(UserFactory())
    for phrase, message in (
        ("a" * 100, b"Try a longer phrase of unrelated words"),
        (_phrase(129), b"longer than 128 characters"),
    ):
        answer = client.post(
            "/account/password",
            data={"current_password": PASSWORD, "new_password": phrase, "confirm": phrase},
        )
        assert answer.status_code == 422 and message in answer.data


@pytest.mark.parametrize("length", [73, 128])
def test_the_strength_rule_reads_the_whole_phrase(length):
    """Scored up to the policy's limit, not zxcvbn's default of 72 (which raised)."""
    assert passwords.weakness(_phrase(length)) is None
    assert passwords.weakness("1" * length) is not None
