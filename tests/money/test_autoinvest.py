"""Auto-invest follows each lender's rules, leaves the last notes, and says why it bought."""

from decimal import Decimal

from sqlalchemy import select

from app.background import jobs
from app.extensions import db
from app.models import Investment, LenderPreference, Provider, RiskTolerance
from app.services.lending import autoinvest
from app.services.money import cash
from tests.builders import lender, listed_loan

D = Decimal


def _rule(user, **changes):
    fields = {
        "risk_tolerance": RiskTolerance.BALANCED,
        "terms": [36],
        "purposes": [],
        "grades": [],
        "min_note_amount": D("25"),
        "max_note_amount": D("500"),
        "auto_invest_enabled": True,
        "auto_amount_per_note": D("50"),
        "auto_max_per_loan": D("100"),
        "auto_cash_cap": D("1000"),
        **changes,
    }
    rule = LenderPreference(lender_id=user.id, **fields)
    db.session.add(rule)
    db.session.flush()
    return rule


def _notes(user):
    return db.session.scalars(select(Investment).where(Investment.lender_id == user.id)).all()


def test_a_matching_listing_gets_one_note_with_the_reason():
    investor = lender(D("500"))
    _rule(investor)
    loan = listed_loan("2000.00")  # grade B3, 36 months
    assert autoinvest.run_for_loan(db.session, loan.id) == 1
    (note,) = _notes(investor)
    assert note.amount == D("50") and note.auto_invested
    assert "grade B3" in note.auto_invest_reason and "matched your rules" in note.auto_invest_reason
    assert autoinvest.run_for_loan(db.session, loan.id) == 1  # up to the $100 per-loan maximum
    assert autoinvest.run_for_loan(db.session, loan.id) == 0
    assert sum(n.amount for n in _notes(investor)) == D("100")


def test_rules_that_do_not_match_buy_nothing():
    investor = lender(D("500"))
    _rule(investor, grades=["A"])
    assert autoinvest.run_for_loan(db.session, listed_loan("2000.00").id) == 0
    db.session.delete(db.session.scalars(select(LenderPreference)).one())
    db.session.flush()
    _rule(investor, terms=[60])
    assert autoinvest.run_for_loan(db.session, listed_loan("2000.00").id) == 0
    assert _notes(investor) == []


def test_the_last_notes_of_a_listing_are_left_for_people():
    investor, other = lender(D("500")), lender(D("2000"))
    _rule(investor)
    loan = listed_loan("1000.00")
    from app.services.lending import investing
    from tests.builders import key

    investing.invest(
        db.session, lender_id=other.id, loan_id=loan.id, amount=D("875"), idempotency_key=key()
    )
    assert autoinvest.run_for_loan(db.session, loan.id) == 0  # only $125 left: under the reserve


def test_the_cash_cap_and_available_cash_are_respected():
    capped = lender(D("500"))
    _rule(capped, auto_cash_cap=D("50"))
    poor = lender(D("30"))
    _rule(poor)
    first, second = listed_loan("2000.00"), listed_loan("2000.00")
    autoinvest.run_for_loan(db.session, first.id)
    autoinvest.run_for_loan(db.session, second.id)
    assert sum(n.amount for n in _notes(capped)) == D("50")
    assert _notes(poor) == []
    assert cash.available_cash(db.session, poor.id) == D("30")


def test_new_cash_is_put_to_work_only_when_the_platform_allows_it(app, monkeypatch, no_redis):
    investor = lender()
    _rule(investor)
    loan = listed_loan("2000.00")
    monkeypatch.setitem(app.config, "ENABLE_AUTO_MATCHING", False)
    cash.deposit(db.session, investor.id, D("200"), provider=Provider.SIMULATED)
    jobs.relay()
    assert _notes(investor) == []
    monkeypatch.setitem(app.config, "ENABLE_AUTO_MATCHING", True)
    assert autoinvest.run_for_lender(db.session, investor.id) == 1
    assert _notes(investor)[0].loan_id == loan.id
