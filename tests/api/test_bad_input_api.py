"""The JSON API refuses what is not an amount, NUL bytes and odd page numbers with a 422."""

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Investment, Loan, Payment, Role, User
from tests.api.conftest import idem
from tests.api.test_lending_api import APPLICATION
from tests.builders import issued_loan, lender, listed_loan
from tests.factories import CompleteUserFactory

NOT_AMOUNTS = ["NaN", "sNaN", "Infinity", "-Infinity", "1e100", "1E2", "\u0661\u0660", "12.345"]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
def test_money_that_is_not_an_amount_is_422(api, amount):
    client = api(lender())
    loan = listed_loan()
    response = client.post("/investments", {"loanId": loan.id, "amount": amount}, idem())
    assert response.status_code == 422 and "amount" in response.json["fields"]
    profile = client.put("/users/profile", {"annualIncome": amount})
    assert profile.status_code == 422 and "annualIncome" in profile.json["fields"]
    assert _count(Investment) == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e100", "25.0"])
def test_json_numbers_are_not_taken_as_money(api, literal):
    loan, _ = issued_loan(["10000"])
    client = api(loan.borrower)
    body = f'{{"loanId": {loan.id}, "amount": {literal}}}'
    response = client.client.post(
        "/api/v1/payments",
        data=body,
        content_type="application/json",
        headers={**client._headers(None), **idem()},
    )
    assert response.status_code == 422 and "amount" in response.json["fields"]
    assert _count(Payment) == 0


def test_nul_bytes_in_text_are_422(api):
    user = CompleteUserFactory()
    client = api(user)
    response = client.put("/users/profile", {"firstName": "Ma\x00ya"})
    assert response.status_code == 422 and "firstName" in response.json["fields"]
    new = {
        "email": "nul@example.com",
        "password": "correct horse battery staple 9",
        "firstName": "A\x00da",
        "lastName": "Lovelace",
        "role": "lender",
    }
    assert api().post("/auth/register", new).status_code == 422
    assert db.session.scalar(select(User).where(User.email == "nul@example.com")) is None
    query = api(user).client.get("/api/v1/loans?riskGrade=A%00", headers=client._headers(None))
    assert query.status_code == 422 and "NUL" in json.dumps(query.json)


def test_a_nul_byte_in_a_request_key_is_422_and_changes_nothing(api):
    key = {"Idempotency-Key": "abc\x00def-12345"}
    borrower = api(CompleteUserFactory(role=Role.BORROWER))
    applied = borrower.post("/loans", APPLICATION, headers=key)
    assert applied.status_code == 422 and "idempotencyKey" in applied.json["fields"]
    loan = listed_loan()
    investor = api(lender(Decimal("100.00")))
    invested = investor.post("/investments", {"loanId": loan.id, "amount": "25.00"}, headers=key)
    assert invested.status_code == 422
    assert _count(Loan) == 1 and _count(Investment) == 0


@pytest.mark.parametrize("page", ["\u00b2", "abc", "-1", "0", "9" * 40, "1e3"])
def test_a_page_that_is_not_a_page_number_is_422(api, page):
    response = api(lender()).get("/loans", page=page)
    assert response.status_code == 422 and "page" in response.json["fields"]
