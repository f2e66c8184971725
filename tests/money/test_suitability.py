"""The suitability limit: a lender's notes total at most 10 % of declared net worth
(LendingClub's standard), counted as cash committed to listings plus principal outstanding."""

from datetime import date
from decimal import Decimal

import pytest

from app.extensions import db
from app.services.errors import DomainError
from app.services.lending import investing
from app.services.servicing import repayments
from tests.builders import issued_loan, key, lender, listed_loan

D = Decimal


def _invest(person, loan, amount):
    return investing.invest(
        db.session, lender_id=person.id, loan_id=loan.id, amount=D(amount), idempotency_key=key()
    )


def test_notes_stop_at_a_tenth_of_declared_net_worth():
    person = lender(D("5000"))
    person.net_worth = D("30000.00")  # so $3,000 in notes at most
    first, second = listed_loan("10000.00"), listed_loan("10000.00")
    _invest(person, first, "2000")
    with pytest.raises(DomainError) as refused:
        _invest(person, second, "1025")
    assert str(refused.value) == (
        "Your notes may total at most 10 % of your declared net worth, $3,000.00; you have "
        "$2,000.00 in notes, so you can add $1,000.00 more."
    )
    assert _invest(person, second, "1000").amount == D("1000")  # exactly to the limit


def test_repaid_principal_makes_room():
    person = lender(D("5000"))
    person.net_worth = D("20000.00")  # $2,000 in notes at most
    loan, (note,) = issued_loan(["2000.00"], lenders=[person], issued_on=date(2026, 1, 15))
    listed = listed_loan("10000.00")
    with pytest.raises(DomainError, match="you can add \\$0.00 more"):
        _invest(person, listed, "25")
    repayments.apply_payment(  # the borrower pays the first installment: principal comes back
        db.session, loan.id, loan.monthly_payment, received_on=date(2026, 2, 15),
        idempotency_key=key(),
    )  # fmt: skip
    db.session.refresh(note)
    returned = D("2000.00") - note.principal_outstanding
    assert returned > 0
    room = investing.suitability(db.session, person.id, investing.DEFAULT_POLICY)
    assert (room.in_notes, room.room) == (note.principal_outstanding, returned)
    assert _invest(person, listed, "25").amount == D("25")


def test_an_undeclared_net_worth_invests_nothing_and_says_why():
    person = lender(D("500"))
    person.net_worth = None
    with pytest.raises(DomainError, match="declare your net worth on your profile"):
        _invest(person, listed_loan("1000.00"), "25")


@pytest.mark.parametrize(
    ("net_worth", "limit"),
    [("250000.00", "25000.00"), ("70000.00", "7000.00"), ("1234.57", "123.45")],
)
def test_the_limit_is_ten_percent_rounded_down_to_the_cent(net_worth, limit):
    assert investing.DEFAULT_POLICY.suitability_limit(D(net_worth)) == D(limit)


def test_closed_notes_count_for_nothing_and_open_ones_in_full():
    """place_note reads only committed and active notes (migration 0041): a note paid off and
    one charged off leave the limit as it was; an active note counts its principal."""
    from app.services.servicing import servicing

    person = lender(D("5000"))
    person.net_worth = D("30000.00")  # room for the notes below
    issued_loan(["1000.00"], lenders=[person], issued_on=date(2026, 1, 15))
    paid, _ = issued_loan(["700.00"], lenders=[person], issued_on=date(2026, 1, 15))
    lost, _ = issued_loan(["600.00"], lenders=[person], issued_on=date(2026, 1, 15))
    day = date(2026, 2, 1)
    repayments.apply_payment(
        db.session, paid.id, repayments.payoff_amount(db.session, paid, day).total,
        received_on=day, idempotency_key=key(),
    )  # fmt: skip
    servicing.charge_off(db.session, lost.id, day, reason="test")
    person.net_worth = D("20000.00")  # $2,000 in notes at most: $1,000 of it left
    db.session.flush()
    room = investing.suitability(db.session, person.id, investing.DEFAULT_POLICY)
    assert (room.in_notes, room.room) == (D("1000.00"), D("1000.00"))
    listed = listed_loan("10000.00")
    with pytest.raises(DomainError, match="you can add \\$1,000.00 more"):
        _invest(person, listed, "1025")
    assert _invest(person, listed, "1000").amount == D("1000")
