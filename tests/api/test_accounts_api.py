"""Accounts over the API: register, tokens (login, expiry, logout), profile, errors."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, Role, User
from tests.factories import UserFactory
from tests.helpers import PASSWORD

NEW = {
    "email": "new@example.com",
    "password": "blue whale orbit 42 lantern",
    "firstName": "Nia",
    "lastName": "Obi",
    "role": "lender",
}


def test_register_returns_a_token_that_works(api):
    response = api().post("/auth/register", NEW)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["tokenType"] == "Bearer" and body["user"]["role"] == "lender"
    assert "password" not in body["user"]
    api_client = api()
    api_client.token = body["token"]
    assert api_client.get("/users/profile").json["email"] == "new@example.com"
    stored = db.session.scalar(select(ApiToken))
    assert stored.token_hash != body["token"] and len(stored.token_hash) == 64  # only a hash


def test_register_twice_or_weak_or_admin_is_refused_and_creates_nothing(api):
    assert api().post("/auth/register", NEW).status_code == 201
    again = api().post("/auth/register", NEW)
    assert again.status_code == 422 and "email" in again.json["fields"]
    weak = api().post("/auth/register", {**NEW, "email": "w@example.com", "password": "password"})
    assert weak.status_code == 422 and "password" in weak.json["fields"]
    admin = api().post("/auth/register", {**NEW, "email": "a@example.com", "role": "admin"})
    assert admin.status_code == 422 and "role" in admin.json["fields"]
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_login_logout_and_the_revoked_token(api):
    user = UserFactory(role=Role.BORROWER)
    wrong = api().post("/auth/login", {"email": user.email, "password": "not it at all"})
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_credentials"
    token = api().post("/auth/login", {"email": user.email, "password": PASSWORD}).json["token"]
    client = api()
    client.token = token
    assert client.get("/users/profile").status_code == 200
    assert client.post("/auth/logout").status_code == 204
    refused = client.get("/users/profile")
    assert refused.status_code == 401 and refused.json["error"] == "unauthorized"


def test_expired_tokens_and_suspended_users_are_refused(api):
    user = UserFactory(role=Role.LENDER)
    client = api(user)
    assert client.get("/users/profile").status_code == 200
    db.session.scalar(select(ApiToken)).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert client.get("/users/profile").status_code == 401
    fresh = api(user)
    user.is_active = False
    assert fresh.get("/users/profile").status_code == 401


def test_garbage_tokens_and_schemes_are_401_json(api, client):
    assert (
        client.get("/api/v1/users/profile", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    basic = client.get("/api/v1/users/profile", headers={"Authorization": "Basic dTpw"})
    assert basic.status_code == 401 and basic.content_type == "application/json"


def test_profile_update_changes_only_what_is_sent(api):
    user = UserFactory(role=Role.BORROWER, first_name="Ann")
    client = api(user)
    response = client.put(
        "/users/profile",
        {"phone": "+1 555 0100", "annualIncome": "65000.00", "employmentStatus": "employed"},
    )
    assert response.status_code == 200, response.json
    assert response.json["phone"] == "+1 555 0100" and response.json["firstName"] == "Ann"
    assert response.json["annualIncome"] == "65000.00"
    young = client.put("/users/profile", {"dateOfBirth": datetime.now(UTC).date().isoformat()})
    assert young.status_code == 422 and "dateOfBirth" in young.json["fields"]
    email = client.put("/users/profile", {"email": "x@example.com"})
    assert email.status_code == 422 and "email" in email.json["fields"]
    negative = client.put("/users/profile", {"annualIncome": "-5"})
    assert negative.status_code == 422 and "annualIncome" in negative.json["fields"]
    assert user.email != "x@example.com"


def test_a_lender_declares_net_worth_through_the_api_and_may_then_invest(api):
    from decimal import Decimal

    from tests.builders import lender, listed_loan

    person = lender(Decimal("500"))
    person.net_worth = None
    client = api(person)
    loan = listed_loan("2000.00")
    body = {"loanId": loan.id, "amount": "100.00"}
    refused = client.post("/investments", body, headers={"Idempotency-Key": "net-worth-key-1"})
    assert refused.status_code == 422, refused.json
    assert "declare your net worth" in refused.json["fields"]["amount"]
    declared = client.put("/users/profile", {"netWorth": "50000.00"})
    assert declared.status_code == 200 and declared.json["netWorth"] == "50000.00"
    negative = client.put("/users/profile", {"netWorth": "-1"})
    assert negative.status_code == 422 and "netWorth" in negative.json["fields"]
    placed = client.post("/investments", body, headers={"Idempotency-Key": "net-worth-key-2"})
    assert placed.status_code == 201, placed.json


def test_errors_are_json_never_html(api, client):
    assert client.get("/api/v1/nowhere").json["error"] == "not_found"
    wrong_method = client.delete("/api/v1/users/profile")
    assert wrong_method.status_code == 405 and wrong_method.json["error"] == "method_not_allowed"
    bad_json = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert bad_json.status_code == 400 and bad_json.json["message"] == "Invalid JSON body."
    huge = client.post(
        "/api/v1/auth/login", data="x" * (11 * 1024 * 1024), content_type="application/json"
    )
    assert huge.status_code == 413 and huge.json["error"] == "request_entity_too_large"


def test_login_is_rate_limited_with_a_json_429(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    codes = [
        attacker.post(
            "/api/v1/auth/login", json={"email": "v@example.com", "password": f"guess {n}"}
        )
        for n in range(3)
    ]
    assert [r.status_code for r in codes] == [401, 401, 429]
    assert codes[-1].json["error"] == "too_many_requests"


def test_the_contract_and_its_docs_page_are_served(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/loans", "/api/v1/investments", "/api/v1/payments/history/{loan_id}"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"POST /api/v1/investments" in page.data


def test_the_profile_carries_the_credit_score_and_where_it_came_from(api):
    from app.models import CreditScoreSource

    user = UserFactory(role=Role.BORROWER)
    assert api(user).get("/users/profile").json["creditScore"] is None
    user.credit_score, user.credit_score_source = 705, CreditScoreSource.IMPORTED
    db.session.flush()
    profile = api(user).get("/users/profile").json
    assert (profile["creditScore"], profile["creditScoreSource"]) == (705, "imported")
