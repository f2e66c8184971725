"""A modified loan's notes on sale say so over /api/v1 (answers checked against the contract)."""

from datetime import date, timedelta
from decimal import Decimal

from app.extensions import db
from app.models import ModificationKind
from app.services.servicing import amortization, modifications, repayments
from tests.builders import issued_loan, key, lender

D = Decimal


def test_an_offer_of_a_modified_loans_note_is_flagged(api):
    issued = date.today() - timedelta(days=70)
    loan, notes = issued_loan(["1000.00", "9000.00"], issued_on=issued)
    for number in (1, 2):
        repayments.apply_payment(
            db.session, loan.id, loan.monthly_payment,
            received_on=amortization.add_months(issued, number), idempotency_key=key(),
        )  # fmt: skip
    seller, buyer = api(notes[0].lender), api(lender(D("3000.00")))
    listed = seller.post("/secondary/listings", {"investmentId": notes[0].id, "markupPercent": "0"})
    assert listed.status_code == 201, listed.json
    assert buyer.get("/secondary/listings").json["offers"][0]["modified"] is False
    today = date.today()
    asked = modifications.request(
        db.session, loan.id, loan.borrower_id, ModificationKind.REAMORTISATION, {"term": 48},
        "hours cut", today,
    )  # fmt: skip
    modifications.offer(db.session, asked.id, loan.borrower_id, today)
    modifications.accept(db.session, asked.id, loan.borrower_id, today)
    db.session.flush()
    (offer,) = buyer.get("/secondary/listings").json["offers"]
    assert offer["modified"] is True and offer["paymentsLeft"] == 48
