"""Hardship plans in the browser's terms (test client): the borrower previews and asks, an
admin offers adjusted terms or declines, the borrower accepts; lenders see "Modified"."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import LoanModification, ModificationState, Role
from app.services.servicing import amortization, repayments
from app.services.trading import listings
from tests.builders import issued_loan, key
from tests.factories import UserFactory
from tests.helpers import HX

D = Decimal


@pytest.fixture()
def loan_and_notes():
    """A loan issued about 70 days ago with its first two installments paid on time."""
    issued = date.today() - timedelta(days=70)
    loan, notes = issued_loan(["1000.00", "9000.00"], issued_on=issued)
    for number in (1, 2):
        repayments.apply_payment(
            db.session, loan.id, loan.monthly_payment,
            received_on=amortization.add_months(issued, number), idempotency_key=key(),
        )  # fmt: skip
    db.session.flush()
    return loan, notes


def _ask(client, loan, **fields):
    data = {"kind": "reamortisation", "term": "48", "reason": "Reduced hours", **fields}
    return client.post(f"/borrower/loans/{loan.id}/hardship", data=data, headers=HX)


def test_a_borrower_previews_asks_an_admin_offers_and_the_borrower_accepts(
    client, login, loan_and_notes
):
    loan, notes = loan_and_notes
    login(loan.borrower)
    assert b"Need help with payments?" in client.get(f"/borrower/loans/{loan.id}").data
    assert client.get(f"/borrower/loans/{loan.id}/hardship").status_code == 200
    url = f"/borrower/loans/{loan.id}/hardship/preview"
    preview = client.post(url, data={"kind": "reamortisation", "term": "48"}, headers=HX)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'data-field="new-payment"' in body
    assert "Total cost difference" in body
    assert db.session.scalar(select(LoanModification.id)) is None  # a preview asks nothing
    bad = _ask(client, loan, term="20")  # no lower payment
    assert bad.status_code == 422 and b"would not lower" in bad.data
    missing = _ask(client, loan, reason="")
    assert missing.status_code == 422 and b"what has changed" in missing.data
    assert _ask(client, loan).headers["HX-Redirect"] == f"/borrower/loans/{loan.id}/hardship"
    asked = db.session.scalar(select(LoanModification))
    assert asked.state is ModificationState.REQUESTED

    login(UserFactory(role=Role.ADMIN))
    assert f"Loan #{loan.id}".encode() in client.get("/admin/hardship").data
    assert b"Reduced hours" in client.get(f"/admin/hardship/{asked.id}").data
    offered = client.post(f"/admin/hardship/{asked.id}/offer", data={"term": "50"}, headers=HX)
    assert offered.headers["HX-Redirect"] == "/admin/hardship"
    assert asked.state is ModificationState.OFFERED and asked.terms == {"term": 50}

    login(loan.borrower)
    page = client.get(f"/borrower/loans/{loan.id}/hardship").get_data(as_text=True)
    assert "Accept this plan" in page and asked.new_schedule[0]["payment"] in page
    accept = client.post(f"/borrower/loans/{loan.id}/hardship/{asked.id}/accept", headers=HX)
    assert accept.headers["HX-Redirect"] == f"/borrower/loans/{loan.id}/hardship"
    db.session.refresh(loan)
    assert asked.state is ModificationState.APPLIED and loan.modified
    assert loan.monthly_payment == D(asked.new_schedule[0]["payment"])
    assert b"Modified" in client.get(f"/borrower/loans/{loan.id}").data

    seller = notes[0]
    login(seller.lender)
    lender_page = client.get(f"/lender/loans/{loan.id}").get_data(as_text=True)
    assert 'data-field="modified"' in lender_page and "lower payment over 50" in lender_page
    assert "Payment schedule as modified (50 payments left)" in lender_page
    listings.list_note(
        db.session, seller_id=seller.lender_id, investment_id=seller.id, markup_percent=D("0")
    )
    db.session.flush()
    login(notes[1].lender)
    market = client.get("/lender/secondary").get_data(as_text=True)
    assert f"#{loan.id}" in market and 'data-field="modified"' in market


def test_an_admin_declines_with_a_reason_and_bad_terms_re_render(client, login, loan_and_notes):
    loan, _ = loan_and_notes
    login(loan.borrower)
    _ask(client, loan)
    asked = db.session.scalar(select(LoanModification))
    login(UserFactory(role=Role.ADMIN))
    bad = client.post(f"/admin/hardship/{asked.id}/offer", data={"term": "90"}, headers=HX)
    assert bad.status_code == 422 and b"from 1 to 84" in bad.data
    assert asked.state is ModificationState.REQUESTED
    empty = client.post(f"/admin/hardship/{asked.id}/decline", data={"reason": ""}, headers=HX)
    assert empty.status_code == 422 and b"Say why" in empty.data
    client.post(
        f"/admin/hardship/{asked.id}/decline", data={"reason": "Income too low"}, headers=HX
    )
    assert asked.state is ModificationState.DECLINED and asked.decision_reason == "Income too low"
    login(loan.borrower)
    assert b"Declined" in client.get(f"/borrower/loans/{loan.id}/hardship").data


def test_a_settlement_is_agreed_in_the_browser_and_settled_when_an_admin_records_the_money(
    client, login, loan_and_notes
):
    loan, _ = loan_and_notes
    payoff = repayments.payoff_amount(db.session, loan, date.today()).total
    lump = (payoff * D("0.7")).quantize(D("0.01"))
    login(loan.borrower)
    _ask(client, loan, kind="settlement", amount=str(lump))
    asked = db.session.scalar(select(LoanModification))
    admin = login(UserFactory(role=Role.ADMIN))
    client.post(f"/admin/hardship/{asked.id}/offer", data={"amount": str(lump)}, headers=HX)
    login(loan.borrower)
    client.post(f"/borrower/loans/{loan.id}/hardship/{asked.id}/accept", headers=HX)
    assert asked.state is ModificationState.ACCEPTED
    assert b"Settlement agreed" in client.get(f"/borrower/loans/{loan.id}/hardship").data
    login(admin)
    url = f"/admin/hardship/{asked.id}/settlement"
    page = client.get(f"/admin/hardship/{asked.id}").get_data(as_text=True)
    assert "Record the lump sum" in page
    data = {"amount": str(lump - 1), "reason": "Wire received", "idempotency_key": key()}
    wrong = client.post(url, data=data, headers=HX)
    assert wrong.status_code == 422 and b"agreed lump sum" in wrong.data
    done = client.post(url, data={**data, "amount": str(lump)}, headers=HX)
    assert done.headers["HX-Redirect"] == "/admin/hardship"
    db.session.refresh(loan)
    assert asked.state is ModificationState.APPLIED and loan.settled_at is not None
    assert b"Settled for less" in client.get(f"/admin/loans/{loan.id}").data
