"""The secondary market over /api/v1, every answer checked against the OpenAPI contract."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import Investment
from tests.api.conftest import idem
from tests.builders import issued_loan, lender

D = Decimal


@pytest.fixture()
def note():
    loan, notes = issued_loan(["1000.00", "9000.00"], issued_on=date.today() - timedelta(days=20))
    return notes[0]


def test_list_browse_buy_and_replay(api, note):
    buyer_user = lender(D("3000.00"))
    seller, buyer = api(note.lender), api(buyer_user)
    listed = seller.post("/secondary/listings", {"investmentId": note.id, "markupPercent": "-1.5"})
    assert listed.status_code == 201, listed.json
    assert listed.json["status"] == "listed" and listed.json["markupPercent"] == "-1.50"
    offers = buyer.get("/secondary/listings").json["offers"]
    (offer,) = offers
    assert offer["listingId"] == listed.json["id"] and offer["loanStatus"] == "current"
    assert D(offer["price"]) == (
        (D(offer["principal"]) + D(offer["accruedInterest"])) * D("0.985")
    ).quantize(D("0.01"))
    body = {"listingId": offer["listingId"], "price": offer["price"], "loanStatus": "current"}
    headers = idem()
    bought = buyer.post("/secondary/trades", body, headers=headers)
    assert bought.status_code == 201, bought.json
    again = buyer.post("/secondary/trades", body, headers=headers)
    assert again.status_code == 201 and again.json["id"] == bought.json["id"]
    assert db.session.get(Investment, note.id).lender_id == buyer_user.id
    third = api(lender(D("3000.00")))
    late = third.post("/secondary/trades", body, headers=idem())
    assert late.status_code == 409 and "sold" in late.json["message"]
    assert buyer.get("/secondary/listings").json["offers"] == []


def test_refusals_are_json_errors(api, note):
    seller, buyer = api(note.lender), api(lender(D("3000.00")))
    bad = seller.post("/secondary/listings", {"investmentId": note.id, "markupPercent": "20"})
    assert bad.status_code == 422 and "between -30% and 15%" in bad.json["fields"]["markupPercent"]
    not_mine = buyer.post("/secondary/listings", {"investmentId": note.id, "markupPercent": "0"})
    assert not_mine.status_code == 422
    listed = seller.post("/secondary/listings", {"investmentId": note.id, "markupPercent": "0"})
    stale = buyer.post(
        "/secondary/trades",
        {"listingId": listed.json["id"], "price": "1.00", "loanStatus": "current"},
        headers=idem(),
    )
    assert stale.status_code == 409 and "price is now" in stale.json["message"]
    no_key = buyer.post(
        "/secondary/trades",
        {"listingId": listed.json["id"], "price": "1.00", "loanStatus": "current"},
    )
    assert no_key.status_code == 422
    assert buyer.delete(f"/secondary/listings/{listed.json['id']}").status_code == 404
    withdrawn = seller.delete(f"/secondary/listings/{listed.json['id']}")
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "cancelled"
    assert seller.delete(f"/secondary/listings/{listed.json['id']}").status_code == 409


def test_a_slice_lists_every_note_of_a_grade_and_reports_the_rest(api, note):
    seller = api(note.lender)
    answer = seller.post("/secondary/listings/slice", {"grades": "B", "markupPercent": "0"})
    assert answer.status_code == 201, answer.json
    assert [item["investmentId"] for item in answer.json["listed"]] == [note.id]
    assert D(answer.json["totalProceeds"]) == D(answer.json["totalPrice"]) - D(
        answer.json["totalFees"]
    )
    again = seller.post("/secondary/listings/slice", {"grades": "B", "markupPercent": "0"})
    assert again.json["listed"] == [] and again.json["skipped"][0]["reason"] == "already for sale"
