"""Payments on a date over both APIs, each answer checked against the OpenAPI document (v1)
or field by field (the original design's `POST /api/payments/schedule` and history)."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.integrations.payments import SimulatedGateway
from app.models import Payment, Role
from app.services.accounts import api_tokens
from app.services.policy import DEFAULT_POLICY
from app.services.servicing import servicing
from tests.api.conftest import idem
from tests.builders import issued_loan
from tests.factories import CompleteUserFactory, UserFactory

TODAY = date.today()


@pytest.fixture()
def loan():
    loan, _ = issued_loan(["4000"], issued_on=TODAY.replace(day=1))
    return loan


def test_v1_schedule_list_cancel_and_autopay(api, loan):
    client = api(loan.borrower)
    pay_on = (TODAY + timedelta(days=9)).isoformat()
    body = {"loanId": loan.id, "amount": "120.00", "payOn": pay_on}
    headers = idem()
    first = client.post("/payments/scheduled", body, headers)
    again = client.post("/payments/scheduled", body, headers)
    assert first.status_code == again.status_code == 201 and first.json == again.json
    assert (first.json["status"], first.json["payOn"], first.json["autopay"]) == (
        "scheduled",
        pay_on,
        False,
    )
    listed = client.get(f"/loans/{loan.id}/scheduled-payments").json["scheduled"]
    assert [row["id"] for row in listed] == [first.json["id"]]
    cancelled = client.delete(f"/payments/scheduled/{first.json['id']}")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert client.delete(f"/payments/scheduled/{first.json['id']}").status_code == 422
    on = client.put(f"/loans/{loan.id}/autopay", {"enabled": True})
    assert on.status_code == 200 and on.json["enabled"] is True and on.json["since"]
    refused = client.post("/payments/scheduled", {**body, "payOn": TODAY.isoformat()}, idem())
    assert refused.status_code == 422, refused.json
    assert refused.json["fields"] == {"payOn": "Choose a date after today (to pay today, pay now)."}


def test_v1_nobody_else_reaches_them(api, loan):
    planned = (
        api(loan.borrower)
        .post(
            "/payments/scheduled",
            {
                "loanId": loan.id,
                "amount": "120.00",
                "payOn": (TODAY + timedelta(days=5)).isoformat(),
            },
            idem(),
        )
        .json
    )
    stranger = api(CompleteUserFactory(role=Role.BORROWER))
    assert stranger.delete(f"/payments/scheduled/{planned['id']}").status_code == 404
    assert stranger.get(f"/loans/{loan.id}/scheduled-payments").status_code == 404
    assert stranger.put(f"/loans/{loan.id}/autopay", {"enabled": True}).status_code == 404
    lender = api(UserFactory(role=Role.LENDER))
    assert lender.post("/payments/scheduled", {"loanId": loan.id, "amount": "1.00",
                                               "payOn": "2030-01-01"}, idem()).status_code == 403  # fmt: skip


def _original(app, user, method, path, body=None):
    secret, _ = api_tokens.issue(db.session, user, days=1)
    response = app.test_client().open(
        f"/api{path}", method=method, json=body, headers={"Authorization": f"Bearer {secret}"}
    )
    return response.status_code, json.loads(response.get_data(as_text=True), parse_float=Decimal)


def test_the_original_schedule_then_the_cycle_collects_it_and_the_history_shows_both(app, loan):
    pay_on = loan.installments[0].due_date - timedelta(days=2)
    if pay_on <= TODAY:
        pay_on = TODAY + timedelta(days=1)
    status, body = _original(app, loan.borrower, "POST", "/payments/schedule",
                             {"loanId": loan.id, "amount": 95.5, "paymentDate": pay_on.isoformat()})  # fmt: skip
    assert status == 201 and body["success"] is True, body
    payment = body["payment"]
    assert (payment["amount"], payment["status"], payment["paymentDate"]) == (
        Decimal("95.50"),
        "scheduled",
        pay_on.isoformat(),
    )
    first_due = loan.installments[0].due_date
    expected = "early" if pay_on < first_due else "scheduled" if pay_on == first_due else "late"
    assert payment["paymentType"] == expected and payment["dueDate"] == first_due.isoformat()

    servicing.run_cycle(db.session, pay_on, DEFAULT_POLICY, gateway=SimulatedGateway())
    status, history = _original(app, loan.borrower, "GET", f"/payments/history/{loan.id}")
    (collected,) = history["payments"]
    (planned,) = history["scheduled"]
    assert planned["status"] == "collected" and planned["paymentId"] == collected["id"]
    assert (collected["amount"], collected["paymentDate"]) == (Decimal("95.50"), pay_on.isoformat())
    assert collected["paymentType"] == expected and collected["dueDate"] == first_due.isoformat()


def test_the_original_schedule_refuses_like_the_page(app, loan):
    later = (TODAY + timedelta(days=3)).isoformat()
    for body, code in [
        ({"loanId": loan.id, "amount": 95.5, "paymentDate": TODAY.isoformat()}, 422),
        ({"loanId": loan.id, "amount": 95.555, "paymentDate": later}, 422),
        ({"loanId": loan.id, "amount": 99999, "paymentDate": later}, 422),
        ({"loanId": loan.id + 999, "amount": 10, "paymentDate": later}, 404),
    ]:
        status, answer = _original(app, loan.borrower, "POST", "/payments/schedule", body)
        assert status == code and answer["success"] is False and answer["error"], body
    stranger = CompleteUserFactory(role=Role.BORROWER)
    status, _ = _original(app, stranger, "POST", "/payments/schedule",
                          {"loanId": loan.id, "amount": 10, "paymentDate": later})  # fmt: skip
    assert status == 404


def test_notifications_carry_the_facts_they_state_on_both_paths_and_over_v1(api, loan):
    """A payment applied one by one and one applied by the set-based settlement write the
    same data; a declined scheduled payment says when it is tried again."""
    from app.services.servicing import repayments, settlement
    from app.services.servicing.settlement import SettlementRow

    first, second = loan.installments[0], loan.installments[1]
    one = repayments.apply_payment(
        db.session, loan.id, first.principal_due + first.interest_due,
        received_on=first.due_date, idempotency_key="one",
    )  # fmt: skip
    due = second.principal_due + second.interest_due
    servicing.run_cycle(db.session, second.due_date, DEFAULT_POLICY)
    result = settlement.settle(
        db.session, [SettlementRow(loan.id, due, "two", loan.borrower_id)], second.due_date
    )
    assert result.together == 1  # the set-based path
    notices = api(loan.borrower).get("/notifications").json["notifications"]
    received = [n["data"] for n in notices if n["kind"] == "payment.received"]
    two = db.session.scalar(select(Payment.id).where(Payment.idempotency_key == "two"))
    assert received == [
        {"loan_id": loan.id, "payment_id": two, "amount": f"{due:.2f}"},
        {"loan_id": loan.id, "payment_id": one.id, "amount": f"{one.amount:.2f}"},
    ]
