"""Strategies, selling everything and diversification through the test client."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import InvestStrategy, NoteListing
from tests.builders import issued_loan, lender
from tests.helpers import HX

D = Decimal
FORM = {
    "name": "Middle grades",
    "enabled": "y",
    "weight_b": "60",
    "weight_c": "40",
    "terms": ["36"],
    "amount_per_note": "25",
    "max_per_loan": "50",
    "max_loan_share_percent": "5",
    "max_per_borrower": "100",
    "cash_reserve": "100",
    "max_markup_percent": "0",
    "reinvest_repayments": "y",
}


def test_a_lender_builds_a_strategy_and_a_broken_one_gets_field_errors(client, login):
    investor = login(lender(D("500")))
    page = client.get("/lender/strategies")
    assert page.status_code == 200 and b"Weighted default rate" in page.data
    bad = client.post("/lender/strategies", data=FORM | {"weight_c": "30"}, headers=HX)
    assert bad.status_code == 422 and b"must add up to 100 (they add up to 90)" in bad.data
    assert db.session.scalars(select(InvestStrategy)).all() == []
    made = client.post("/lender/strategies", data=FORM, headers=HX)
    assert made.headers.get("HX-Redirect") == "/lender/strategies"
    strategy = db.session.scalars(select(InvestStrategy)).one()
    assert strategy.lender_id == investor.id and strategy.grade_weights == {"B": 60, "C": 40}
    assert strategy.terms == [36] and strategy.cash_reserve == D("100.00")
    edited = client.post(
        f"/lender/strategies/{strategy.id}", data=FORM | {"name": "Renamed"}, headers=HX
    )
    assert edited.headers.get("HX-Redirect") == "/lender/strategies"
    db.session.refresh(strategy)
    assert strategy.name == "Renamed"
    assert client.get(f"/lender/strategies/{strategy.id}").status_code == 200


def test_a_preset_makes_a_strategy_and_someone_elses_cannot_be_opened(client, login):
    other = InvestStrategy(lender_id=lender().id, name="Theirs", grade_weights={"A": 100}, terms=[])
    db.session.add(other)
    db.session.flush()
    login(lender())
    made = client.post("/lender/strategies/presets/conservative", headers=HX)
    assert made.headers.get("HX-Redirect") == "/lender/strategies"
    assert client.post("/lender/strategies/presets/nonsense", headers=HX).status_code == 404
    assert client.get(f"/lender/strategies/{other.id}").status_code == 404


def test_selling_everything_then_stopping(client, login):
    loan, notes = issued_loan(["500.00", "9500.00"], issued_on=date.today() - timedelta(days=30))
    login(notes[0].lender)
    assert b"List all my notes" in client.get("/lender/exit").data
    refused = client.post("/lender/exit", data={"markup_percent": "2"}, headers=HX)
    assert refused.status_code == 422 and b"at par (0) or at a discount" in refused.data
    started = client.post("/lender/exit", data={"markup_percent": "-1"}, headers=HX)
    assert started.headers.get("HX-Redirect") == "/lender/exit"
    page = client.get("/lender/exit")
    assert b"Still held" in page.data
    assert db.session.scalars(select(NoteListing)).one().markup_percent == D("-1.00")
    client.post("/lender/exit/cancel", headers=HX)
    assert b"List all my notes" in client.get("/lender/exit").data


def test_the_diversification_page_warns_about_a_large_loan(client, login):
    loan, notes = issued_loan(["500.00", "9500.00"], issued_on=date.today() - timedelta(days=30))
    login(notes[0].lender)
    page = client.get("/lender/diversification")
    assert page.status_code == 200
    assert f"Loan #{loan.id} is 100.0% of your notes".encode() in page.data
