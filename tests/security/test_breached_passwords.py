"""ASVS 6.2.12: passwords found in a breach are refused at sign-up and on every change.

The set is the 30,000 most common passwords of Mark Burnett's corpus of 10 million leaked
passwords, as zxcvbn ships it (`FREQUENCY_LISTS["passwords"]`); the policy's minimum length
leaves 1,090 of them. Each is refused as it was leaked and in the usual disguises (a capital
and a symbol, digits on the end), through the rule every form and the API share.
"""

import pytest
from sqlalchemy import select
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.extensions import db
from app.models import User
from app.services.accounts.passwords import MIN_LENGTH, weakness
from tests.helpers import PASSWORD

BREACHED = [p for p in FREQUENCY_LISTS["passwords"] if len(p) >= MIN_LENGTH]


def test_the_breach_list_is_the_one_we_think():
    assert len(FREQUENCY_LISTS["passwords"]) == 30_000 and len(BREACHED) == 1_090
    assert FREQUENCY_LISTS["passwords"][:3] == ["123456", "password", "12345678"]


@pytest.mark.parametrize(
    "disguise",
    [str, str.capitalize, lambda p: p.capitalize() + "!", lambda p: p + "2026", str.upper],
    ids=["as leaked", "capitalised", "capital and symbol", "year appended", "upper case"],
)
def test_every_breached_password_is_refused(disguise):
    """Before the explicit check, 772 of them passed the strength rule with a year added."""
    reasons = {weakness(disguise(p)) for p in BREACHED}
    assert None not in reasons


def test_a_short_leaked_word_inside_a_longer_password_is_judged_by_strength():
    """'monkey' is leaked; 'monkey' plus four unrelated words is not that password."""
    assert "monkey" in FREQUENCY_LISTS["passwords"]
    assert weakness("monkey violin harbour 19 ledger") is None


def test_a_strong_phrase_is_still_accepted():
    assert weakness(PASSWORD) is None


def test_the_registration_form_refuses_a_breached_password(client):
    breached = "1qaz2wsx3edc"
    assert breached in BREACHED
    answer = client.post(
        "/register",
        data={
            "email": "new.person@example.com",
            "first_name": "New",
            "last_name": "Person",
            "role": "borrower",
            "password": breached,
            "confirm": breached,
        },
    )
    assert answer.status_code == 422 and b"in lists of leaked passwords" in answer.data
    assert db.session.scalar(select(User.id).where(User.email == "new.person@example.com")) is None
