"""The original design's API (issue 17, part 1): its paths, `{success, ...}` envelopes and
money as JSON numbers, checked field by field and type by type against the design's shapes,
on the same rules as /api/v1. (So far: the loan list and one loan; the rest are to come.)"""

import json
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import Role, User
from app.services.accounts import api_tokens
from tests.builders import issued_loan, listed_loan
from tests.factories import CompleteUserFactory, UserFactory

LOAN_FIELDS = {
    "id": int,
    "amount": float,
    "interestRate": float,
    "termMonths": int,
    "purpose": str,
    "status": str,
    "monthlyPayment": float,
    "totalPayment": float,
    "riskGrade": str,
    "mlScore": (int, type(None)),
}


@pytest.fixture()
def call(app):
    """call(user, path, **query) -> (status, parsed body, raw text): money parsed exactly too."""

    def get(user, path, **query):
        headers = {}
        if user is not None:
            secret, _ = api_tokens.issue(db.session, user, days=1)
            headers["Authorization"] = f"Bearer {secret}"
        response = app.test_client().get(f"/api{path}", query_string=query, headers=headers)
        text = response.get_data(as_text=True)
        return response.status_code, json.loads(text), text

    return get


def _typed(record: dict, fields: dict):
    assert set(record) >= set(fields), set(fields) - set(record)
    for name, kind in fields.items():
        assert isinstance(record[name], kind), (name, record[name])


def test_the_loan_list_is_the_documents_shape_with_money_as_numbers(call):
    lender = UserFactory(role=Role.LENDER)
    listed = listed_loan("1000.00")
    status, body, text = call(lender, "/loans", page=1, limit=10, sortBy="amount", sortOrder="asc")
    assert status == 200 and body["success"] is True
    assert body["pagination"] == {"page": 1, "limit": 10, "total": 1, "totalPages": 1}
    (loan,) = body["loans"]
    _typed(loan, LOAN_FIELDS)
    assert loan["id"] == listed.id and loan["status"] == "listed"
    assert f'"amount": {listed.amount}' in text  # two decimals, written from the Decimal
    exact = json.loads(text, parse_float=Decimal)["loans"][0]
    assert exact["monthlyPayment"] == listed.monthly_payment


def test_the_list_filters_like_v1_and_refuses_a_misspelt_filter(call):
    lender = UserFactory(role=Role.LENDER)
    listed_loan("1000.00")
    listed_loan("5000.00")
    status, body, _ = call(lender, "/loans", minAmount="2000.00")
    assert status == 200 and [loan["amount"] for loan in body["loans"]] == [5000.0]
    status, body, _ = call(lender, "/loans", minAmout="2000")
    assert status == 422 and body["success"] is False and "minAmout" in body["error"]


def test_one_loan_shows_its_borrower_in_full_only_to_themselves(call):
    loan, notes = issued_loan(["1000"])
    borrower = db.session.get(User, loan.borrower_id)
    status, body, _ = call(borrower, f"/loans/{loan.id}")
    assert status == 200 and body["success"] is True
    _typed(body["loan"], LOAN_FIELDS)
    assert body["loan"]["borrower"] == {
        "id": borrower.id,
        "firstName": borrower.first_name,
        "lastName": borrower.last_name,
        "creditScore": loan.credit_score,
        "verificationStatus": borrower.identity_status.value,
    }
    holder = db.session.get(User, notes[0].lender_id)
    status, body, _ = call(holder, f"/loans/{loan.id}")
    seen = body["loan"]["borrower"]
    assert status == 200 and seen["id"] is None and seen["lastName"] == borrower.last_name[0] + "."
    assert seen["firstName"] == borrower.first_name
    assert (
        isinstance(seen["creditScore"], str) and str(loan.credit_score) not in seen["creditScore"]
    )


def test_errors_have_the_documents_shape(call):
    status, body, _ = call(None, "/loans")
    assert status == 401 and body == {
        "success": False,
        "error": "Send a valid token: Authorization: Bearer …",
    }
    stranger = CompleteUserFactory(role=Role.BORROWER)
    loan = listed_loan("1000.00")
    status, body, _ = call(stranger, f"/loans/{loan.id}")  # a borrower sees only their own
    assert status == 404 and body == {"success": False, "error": "No such loan."}
    status, body, _ = call(stranger, "/no-such-path")
    assert status == 404 and body["success"] is False and body["error"]


def test_the_original_paths_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/loans", "/api/loans/{loan_id}"} <= set(paths)
    money = paths["/api/loans"]["get"]["responses"]["200"]["content"]["application/json"]
    assert money["schema"]


USER_FIELDS = {
    "id": int,
    "email": str,
    "firstName": str,
    "lastName": str,
    "phone": (str, type(None)),
    "verificationStatus": str,
    "creditScore": (int, type(None)),
    "annualIncome": (float, type(None)),
    "profileCompleted": bool,
}


def test_login_answers_a_token_and_the_user_and_the_token_reads_the_profile(app, call):
    from tests.helpers import PASSWORD

    person = CompleteUserFactory(role=Role.BORROWER)
    client = app.test_client()
    answer = client.post("/api/auth/login", json={"email": person.email, "password": PASSWORD})
    body = answer.get_json()
    assert answer.status_code == 200 and body["success"] is True and body["token"]
    _typed(body["user"], USER_FIELDS)
    assert body["user"]["email"] == person.email and body["user"]["profileCompleted"] is True
    profile = client.get(
        "/api/users/profile", headers={"Authorization": f"Bearer {body['token']}"}
    ).get_json()
    assert profile["success"] is True and profile["user"] == body["user"]
    assert profile["user"]["annualIncome"] == float(person.annual_income)

    wrong = client.post("/api/auth/login", json={"email": person.email, "password": "nope nope"})
    assert wrong.status_code == 401 and wrong.get_json()["success"] is False
    assert wrong.get_json()["error"]
    empty = client.post("/api/auth/login", json={})
    assert empty.status_code == 422 and empty.get_json()["success"] is False


def test_the_list_reads_a_page_in_a_fixed_number_of_queries_and_agrees_with_each_loan(app, call):
    """No query per loan: the page of 12 costs what the page of 3 does; and each listed loan
    shows what its own page shows."""
    from sqlalchemy import event

    admin = UserFactory(role=Role.ADMIN)
    for _ in range(6):
        issued_loan(["1000"])
    for _ in range(6):
        listed_loan("2000.00")
    statements = []

    def count(*_args):
        statements.append(1)

    def queries_for(limit: int) -> tuple[int, dict]:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            # Smallest first: both pages start with issued loans, whose totals need the database.
            status, body, _ = call(admin, "/loans", limit=limit, sortBy="amount", sortOrder="asc")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert status == 200 and len(body["loans"]) == limit
        return len(statements), body

    small, _ = queries_for(3)
    large, body = queries_for(12)
    assert large == small
    for listed in body["loans"][:4]:
        _, one, _ = call(admin, f"/loans/{listed['id']}")
        assert {k: one["loan"][k] for k in listed} == listed
