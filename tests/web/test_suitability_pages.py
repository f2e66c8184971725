"""The suitability limit as a lender meets it: asked for, explained where it binds, lifted by
declaring more."""

import uuid
from decimal import Decimal

from app.extensions import db
from tests.builders import lender, listed_loan
from tests.helpers import HX
from tests.web.test_profile import VALID

D = Decimal


def _invest(client, loan, amount):
    return client.post(
        f"/lender/loans/{loan.id}/investments",
        data={"amount": amount, "idempotency_key": str(uuid.uuid4())},
        headers=HX,
    )


def test_a_lender_without_a_declared_net_worth_is_asked_for_it_first(client, login):
    person = lender(D("1000"))
    person.net_worth = None
    login(person)
    loan = listed_loan("5000.00")
    assert b"declare your net worth" in client.get("/lender/").data
    page = client.get(f"/lender/loans/{loan.id}").get_data(as_text=True)
    assert "declare your net worth" in page and 'href="/account/profile/edit"' in page
    refused = _invest(client, loan, "100")
    assert refused.status_code == 422 and b"declare your net worth on your profile" in refused.data

    saved = client.post("/account/profile", data={**VALID, "net_worth": "40000"}, headers=HX)
    assert saved.status_code in (200, 204)
    db.session.refresh(person)
    assert person.net_worth == D("40000.00")
    assert _invest(client, loan, "100").status_code == 200
    page = client.get(f"/lender/loans/{loan.id}").get_data(as_text=True)
    # $4,000 limit, $100 in notes: less room than one loan's cap, so the page says so
    assert "You have $100.00 in notes, so you can add $3,900.00 more." in page
    marketplace = client.get("/lender/loans").get_data(as_text=True)
    assert "so you can add $3,900.00 more" in marketplace  # the marketplace says it too
    assert _invest(client, loan, "4000").status_code == 422


def test_a_lender_far_from_the_limit_sees_it_only_on_the_dashboard(client, login):
    person = login(lender(D("1000")))
    person.net_worth = D("2000000.00")
    loan = listed_loan("5000.00")
    dashboard = client.get("/lender/").get_data(as_text=True)
    assert "Your notes may total at most $200,000.00" in dashboard
    assert 'id="suitability"' not in client.get(f"/lender/loans/{loan.id}").get_data(as_text=True)
    assert 'id="suitability"' not in client.get("/lender/loans").get_data(as_text=True)
