"""Auto-invest strategies: weights, limits, reserve, the last notes, fairness between lenders,
secondary purchases, and the record of which strategy and rule bought each note."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.background import jobs
from app.extensions import db
from app.models import Investment, InvestStrategy, NoteTrade, OutboxMessage, Provider
from app.services.errors import ValidationFailed
from app.services.lending import strategies, strategy_sweep
from app.services.money import cash
from app.services.servicing import repayments
from app.services.trading import listings
from tests.builders import issued_loan, key, lender, listed_loan

D = Decimal


def _loan(grade: str, amount="5000.00", term=36, borrower=None):
    loan = listed_loan(amount, term=term)
    loan.risk_grade = f"{grade}3"
    if borrower is not None:
        loan.borrower_id = borrower
    db.session.flush()
    return loan


def _strategy(owner, **values):
    base = {
        "name": "Mine",
        "grade_weights": {"A": 50, "B": 50},
        "amount_per_note": D("25.00"),
        "max_per_loan": D("50.00"),
        "max_loan_share_percent": D("100"),
        "max_per_borrower": D("1000.00"),
        "cash_reserve": D("0.00"),
        "max_markup_percent": D("0.00"),
    }
    return strategies.create(db.session, owner.id, base | values)


def _notes(owner):
    return list(
        db.session.scalars(
            select(Investment).where(Investment.lender_id == owner.id).order_by(Investment.id)
        )
    )


def test_a_strategy_buys_by_its_weights_and_records_its_rule_on_each_note():
    investor = lender(D("100.00"))
    strategy = _strategy(investor, grade_weights={"A": 50, "B": 50})
    a_loans = [_loan("A") for _ in range(4)]
    b_loan = _loan("B")
    _loan("C")  # no weight: never bought
    result = strategy_sweep.sweep(db.session)
    notes = _notes(investor)
    by_grade = {}
    for note in notes:
        grade = db.session.get(type(a_loans[0]), note.loan_id).risk_grade[0]
        by_grade[grade] = by_grade.get(grade, D(0)) + note.amount
    # $100 planned: at most $50 of A, and B takes its note.
    assert by_grade == {"A": D("50.00"), "B": D("25.00")}
    assert result.primary == 3
    assert all(note.strategy_id == strategy.id for note in notes)
    assert all("Strategy “Mine”: grade" in note.auto_invest_reason for note in notes)
    assert any(note.loan_id == b_loan.id for note in notes)


def test_the_reserve_the_loan_cap_the_portfolio_share_and_the_borrower_cap_hold():
    investor = lender(D("1000.00"))
    borrower_loans = [_loan("A", borrower=None)]
    same_borrower = _loan("A", borrower=borrower_loans[0].borrower_id)
    others = [_loan("A") for _ in range(6)]
    _strategy(
        investor,
        grade_weights={"A": 100},
        max_per_loan=D("50.00"),
        max_per_borrower=D("25.00"),
        max_loan_share_percent=D("25"),  # of (0 held + $100 to spend): one note a loan
        cash_reserve=D("900.00"),
    )
    strategy_sweep.sweep(db.session)
    notes = _notes(investor)
    assert sum(note.amount for note in notes) == D("100.00")  # the reserve keeps $900
    per_loan = {}
    for note in notes:
        per_loan[note.loan_id] = per_loan.get(note.loan_id, D(0)) + note.amount
    assert max(per_loan.values()) == D("25.00")
    assert not {borrower_loans[0].id, same_borrower.id} <= set(per_loan)  # one per borrower
    assert cash.available_cash(db.session, investor.id) == D("900.00")
    assert len(others) == 6


def test_the_last_notes_of_a_listing_are_left_to_people_choosing_by_hand():
    loan = _loan("A", amount="1000.00")  # the last 10 %, at least $100, is kept
    crowd = [lender(D("100.00")) for _ in range(40)]
    for investor in crowd:
        _strategy(investor, grade_weights={"A": 100}, max_per_loan=D("25.00"))
    strategy_sweep.sweep(db.session)
    db.session.refresh(loan)
    assert loan.amount - loan.funded_amount == D("100.00")


def test_no_lender_is_always_first_when_there_is_room_for_one():
    first, second = lender(D("100.00")), lender(D("100.00"))
    one = _strategy(first, grade_weights={"A": 100})
    two = _strategy(second, grade_weights={"A": 100})
    winners = []
    for _ in range(4):
        loan = _loan("A", amount="125.00")  # $25 above the $100 kept back: one note
        strategy_sweep.sweep(db.session)
        (note,) = db.session.scalars(select(Investment).where(Investment.loan_id == loan.id))
        winners.append(note.strategy_id)
    assert winners == [one.id, two.id, one.id, two.id]


def test_without_reinvesting_the_repayments_stay_cash():
    loan, notes = issued_loan(["1000.00", "9000.00"], issued_on=date.today() - timedelta(days=40))
    investor = db.session.get(Investment, notes[0].id).lender
    strategy = _strategy(investor, grade_weights={"A": 50, "B": 50}, reinvest_repayments=False)
    strategy.created_at = datetime.now(UTC) - timedelta(days=1)
    repayments.apply_payment(
        db.session, loan.id, loan.monthly_payment, received_on=date.today(), idempotency_key=key()
    )
    _loan("A")
    _loan("B")
    before = cash.available_cash(db.session, investor.id)
    assert before > 0
    assert strategy_sweep.sweep(db.session).primary == 0
    assert cash.available_cash(db.session, investor.id) == before


def test_a_strategy_buys_current_notes_on_the_secondary_market_within_its_markup():
    loan, notes = issued_loan(
        ["25.00", "25.00", "9950.00"], issued_on=date.today() - timedelta(days=10)
    )
    loan.risk_grade = "B2"
    cheap = listings.list_note(
        db.session, seller_id=notes[0].lender_id, investment_id=notes[0].id, markup_percent=D("-2")
    )
    dear = listings.list_note(
        db.session, seller_id=notes[1].lender_id, investment_id=notes[1].id, markup_percent=D("3")
    )
    buyer = lender(D("500.00"))
    strategy = _strategy(
        buyer, grade_weights={"B": 100}, buy_secondary=True, max_markup_percent=D("0")
    )
    result = strategy_sweep.sweep(db.session)
    assert result.secondary == 1
    trade = db.session.scalars(select(NoteTrade)).one()
    assert trade.listing_id == cheap.id and trade.buyer_id == buyer.id
    assert trade.strategy_id == strategy.id and "secondary market at -2.00%" in trade.buy_reason
    assert dear.status.value == "listed"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"grade_weights": {"A": 50, "B": 40}}, "grade_weights"),
        ({"grade_weights": {"Z": 100}}, "grade_weights"),
        ({"amount_per_note": D("30.00")}, "amount_per_note"),
        ({"max_per_loan": D("10.00")}, "max_per_loan"),
        ({"max_loan_share_percent": D("0")}, "max_loan_share_percent"),
        ({"max_markup_percent": D("20")}, "max_markup_percent"),
        ({"name": "  "}, "name"),
    ],
)
def test_a_strategy_that_breaks_a_rule_is_refused_by_field(change, field):
    with pytest.raises(ValidationFailed) as refused:
        _strategy(lender(), **change)
    assert field in refused.value.errors
    assert db.session.scalars(select(InvestStrategy)).all() == []


def test_presets_show_the_default_rates_the_model_was_trained_on(app):
    rates = strategies.default_rates(db.session)
    # The active model's card: out-of-fold bad rates by grade on LendingClub 2007-2010 loans,
    # rising from A to E (risk-anchors: 5.3 / 11.3 / 14.2 / 19.7 / 32.4 % on the champion).
    assert list(rates) == ["A", "B", "C", "D", "E"]
    assert list(rates.values()) == sorted(rates.values())
    assert D("3") < rates["A"] < D("8") and D("25") < rates["E"] < D("40")
    blended = {
        key: strategies.blended_rate(p.grade_weights, rates)
        for key, p in strategies.PRESETS.items()
    }
    assert blended["conservative"] < blended["balanced"] < blended["higher_yield"]
    created = strategies.from_preset(db.session, lender().id, "balanced")
    assert created.grade_weights == {"A": 20, "B": 35, "C": 30, "D": 15}


def test_a_repayment_queues_the_reinvesting_strategies_of_the_lenders_it_paid():
    loan, notes = issued_loan(["1000.00", "9000.00"], issued_on=date.today() - timedelta(days=40))
    reinvests = db.session.get(Investment, notes[0].id).lender
    _strategy(reinvests, grade_weights={"A": 100})
    keeps = db.session.get(Investment, notes[1].id).lender
    _strategy(keeps, grade_weights={"A": 100}, reinvest_repayments=False)
    payment = repayments.apply_payment(
        db.session, loan.id, loan.monthly_payment, received_on=date.today(), idempotency_key=key()
    )
    queued = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "auto_invest_lenders")
    ).all()
    assert [message.payload for message in queued] == [{"lender_ids": [reinvests.id]}]
    assert queued[0].dedupe_key == f"auto-payment-{payment.id}"


def test_the_jobs_run_strategies_for_a_new_listing_new_cash_and_the_hourly_sweep(
    app, monkeypatch, no_redis
):
    monkeypatch.setitem(app.config, "ENABLE_AUTO_MATCHING", True)
    investor = lender()
    _strategy(investor, grade_weights={"A": 100}, max_per_loan=D("25.00"))
    first = _loan("A")
    cash.deposit(db.session, investor.id, D("200"), provider=Provider.SIMULATED)
    jobs.relay()  # the deposit's job: the strategy puts the new cash to work
    assert [note.loan_id for note in _notes(investor)] == [first.id]
    second = _loan("A")
    jobs.auto_invest_loan({"loan_id": second.id})  # a loan lists
    third = _loan("A")
    jobs.auto_invest_sweep({})  # the hourly pass
    assert [note.loan_id for note in _notes(investor)] == [first.id, second.id, third.id]
