"""The original design's API, the rest of its operations (issue 17, part 1): register, the
profile with its address, apply, invest, the portfolio, a loan's payments and the model calls,
each driven with the document's example bodies and checked field by field and type by type.
Where a figure can be checked against another part of the system, it is."""

import json
from datetime import date
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import CreditScoreSource, Investment, Loan, Role
from app.services.accounts import api_tokens
from app.services.lending import underwriting
from app.services.servicing import repayments, returns
from tests.builders import issued_loan, lender, listed_loan
from tests.factories import CompleteUserFactory, UserFactory

NUMBER = (int, Decimal)  # parsed exactly: a JSON number with a point reads as a Decimal
NULLABLE_NUMBER = (int, Decimal, type(None))
# The design document's example bodies.
REGISTER = {
    "email": "john.doe@example.com",
    "password": "river lantern copper 42",
    "firstName": "John",
    "lastName": "Doe",
    "phone": "+1-555-0123",
    "dateOfBirth": "1990-01-15",
}
LOAN = {
    "amount": 15000,
    "termMonths": 36,
    "purpose": "debt_consolidation",
    "interestRate": 8.5,
    "collateralDescription": "2019 Honda Civic",
}
ASSESS = {
    "loanAmount": 15000,
    "termMonths": 36,
    "purpose": "debt_consolidation",
    "annualIncome": 75000,
    "creditScore": 720,
    "employmentStatus": "employed",
}


@pytest.fixture()
def call(app):
    """call(user, method, path, body=None) -> (status, body parsed with exact money)."""

    def send(user, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if user is not None:
            secret, _ = api_tokens.issue(db.session, user, days=1)
            headers["Authorization"] = f"Bearer {secret}"
        response = app.test_client().open(f"/api{path}", method=method, json=body, headers=headers)
        return response.status_code, json.loads(
            response.get_data(as_text=True), parse_float=Decimal
        )

    return send


def _typed(record: dict, fields: dict):
    assert set(record) >= set(fields), set(fields) - set(record)
    for name, kind in fields.items():
        assert isinstance(record[name], kind), (name, record[name])


def _refused(answer, status: int):
    code, body = answer
    assert code == status, body
    assert body["success"] is False and isinstance(body["error"], str) and body["error"]


# --- accounts ----------------------------------------------------------------------------


def test_register_opens_a_borrower_with_the_example_body_and_the_token_works(call):
    status, body = call(None, "POST", "/auth/register", REGISTER)
    assert status == 201 and body["success"] is True and isinstance(body["token"], str)
    user = body["user"]
    assert (user["email"], user["role"], user["phone"], user["dateOfBirth"]) == (
        "john.doe@example.com",
        "borrower",  # the design's default
        "+1-555-0123",
        "1990-01-15",
    )
    headers = {"Authorization": f"Bearer {body['token']}"}
    status, profile = call(None, "GET", "/users/profile", headers=headers)
    assert status == 200 and profile["user"] == user
    _refused(call(None, "POST", "/auth/register", REGISTER), 422)  # the same email again
    _refused(call(None, "POST", "/auth/register", {**REGISTER, "email": "x@example.com",
                                                    "password": "password1"}), 422)  # fmt: skip
    _refused(call(None, "POST", "/auth/register", {**REGISTER, "role": "admin"}), 422)
    status, lender_body = call(
        None, "POST", "/auth/register", {**REGISTER, "email": "l@example.com", "role": "lender"}
    )
    assert status == 201 and lender_body["user"]["role"] == "lender"


def test_the_profile_takes_the_address_object_and_income_exactly(call):
    person = UserFactory(role=Role.BORROWER)
    change = {
        "annualIncome": 85000.1,
        "employmentStatus": "self_employed",
        "address": {"street": "12 Elm St", "city": "Austin", "state": "TX", "zipCode": "78701"},
    }
    status, body = call(person, "PUT", "/users/profile", change)
    assert status == 200 and body["success"] is True
    user = body["user"]
    assert user["annualIncome"] == Decimal("85000.10")  # 85000.1 as typed, to the cent
    assert user["address"] == change["address"] and user["employmentStatus"] == "self_employed"
    db.session.refresh(person)
    assert (person.address_line1, person.postal_code, person.annual_income) == (
        "12 Elm St",
        "78701",
        Decimal("85000.10"),
    )
    _refused(call(person, "PUT", "/users/profile", {}), 422)
    _refused(call(person, "PUT", "/users/profile", {"employmentStatus": "astronaut"}), 422)
    _refused(call(person, "PUT", "/users/profile", {"annualIncome": 1.005}), 422)
    _refused(call(person, "PUT", "/users/profile", {"annualIncome": True}), 422)
    _refused(call(None, "PUT", "/users/profile", change), 401)


# --- loans -------------------------------------------------------------------------------

LOAN_FIELDS = {
    "id": int,
    "amount": NUMBER,
    "interestRate": NULLABLE_NUMBER,
    "termMonths": int,
    "purpose": str,
    "status": str,
    "monthlyPayment": NULLABLE_NUMBER,
    "totalPayment": NULLABLE_NUMBER,
    "riskGrade": (str, type(None)),
    "mlScore": (int, type(None)),
}


def test_apply_with_the_example_body_ignores_the_rate_and_says_so(call):
    borrower = CompleteUserFactory(role=Role.BORROWER, credit_score=None)
    status, body = call(borrower, "POST", "/loans/create", LOAN)
    assert status == 201 and body["success"] is True, body
    loan = body["loan"]
    _typed(loan, LOAN_FIELDS)
    assert (loan["amount"], loan["status"], loan["interestRate"]) == (15000, "submitted", None)
    assert "interestRate was ignored" in body["notice"]
    assert "credit_score" in body["assumed"] and "annual_income" not in body["assumed"]
    stored = db.session.get(Loan, loan["id"])
    assert stored.annual_income == borrower.annual_income and stored.credit_score == 712
    assert stored.collateral_description == "2019 Honda Civic"
    assert "assumed at typical values: credit score" in stored.description
    underwriting.score_application(db.session, stored.id)  # the queued job
    status, shown = call(borrower, "GET", f"/loans/{stored.id}")
    assert shown["loan"]["status"] == "offered" and shown["loan"]["riskGrade"]
    assert shown["loan"]["interestRate"] == stored.interest_rate != Decimal("8.5")
    assert isinstance(shown["loan"]["mlScore"], int)


def test_apply_is_refused_like_v1(call):
    _refused(call(UserFactory(role=Role.BORROWER), "POST", "/loans/create", LOAN), 403)
    _refused(call(UserFactory(role=Role.LENDER), "POST", "/loans/create", LOAN), 403)
    borrower = CompleteUserFactory(role=Role.BORROWER)
    for bad in ({"amount": "lots"}, {"amount": 100.001}, {"termMonths": 7}, {"purpose": "yacht"}):
        _refused(call(borrower, "POST", "/loans/create", {**LOAN, **bad}), 422)
    assert db.session.query(Loan).count() == 0


# --- investments -------------------------------------------------------------------------

INVESTMENT_FIELDS = {
    "id": int,
    "loanId": int,
    "amount": NUMBER,
    "expectedReturn": NUMBER,
    "investmentDate": str,
    "maturityDate": (str, type(None)),
}


def test_invest_with_the_example_body_and_the_same_key_twice_invests_once(call):
    loan = listed_loan("3000.00", rate="12.00", term=36)
    buyer = lender(Decimal("1000.00"))
    body = {"loanId": loan.id, "amount": 250}
    status, answer = call(buyer, "POST", "/investments/create", body, {"Idempotency-Key": "k1"})
    assert status == 201 and answer["success"] is True, answer
    note = answer["investment"]
    _typed(note, INVESTMENT_FIELDS)
    assert (note["loanId"], note["amount"]) == (loan.id, 250)
    # A listing's note earns its share of the level-payment schedule's interest.
    whole = loan.monthly_payment * 36 - loan.amount
    assert note["expectedReturn"] == (whole * 250 / loan.amount).quantize(Decimal("0.01"))
    assert note["investmentDate"] == date.today().isoformat()
    again = call(buyer, "POST", "/investments/create", body, {"Idempotency-Key": "k1"})
    assert again[1]["investment"]["id"] == note["id"]
    assert db.session.query(Investment).filter_by(lender_id=buyer.id).count() == 1
    _refused(call(buyer, "POST", "/investments/create", {"loanId": loan.id, "amount": 5000}), 422)
    _refused(call(loan.borrower, "POST", "/investments/create", body), 403)


def test_the_portfolio_agrees_with_the_ledger_and_the_schedule(call):
    first, second = lender(Decimal("600")), lender(Decimal("400"))
    loan, notes = issued_loan(["600", "400"], lenders=[first, second], issued_on=date(2025, 1, 15))
    for installment in loan.installments[:3]:
        repayments.apply_payment(
            db.session, loan.id, installment.principal_due + installment.interest_due,
            received_on=installment.due_date, idempotency_key=f"p{installment.number}",
        )  # fmt: skip
    db.session.flush()
    status, body = call(first, "GET", "/investments/portfolio")
    assert status == 200 and body["success"] is True
    (note,) = body["investments"]
    _typed(note, INVESTMENT_FIELDS)
    schedule_interest = sum(i.interest_due for i in loan.installments)
    _, other = call(second, "GET", "/investments/portfolio")
    # The two notes' shares add up to the loan's whole scheduled interest, to the cent each.
    both = note["expectedReturn"] + other["investments"][0]["expectedReturn"]
    assert abs(both - schedule_interest) <= Decimal("0.01")
    assert note["maturityDate"] == max(i.due_date for i in loan.installments).isoformat()
    ledger_view = returns.summary(db.session, first.id, date.today())
    summary = body["summary"]
    assert note["actualReturn"] == summary["actualReturn"] == ledger_view.net_return > 0
    assert (summary["totalInvested"], summary["activeInvestments"]) == (600, 1)
    assert (
        summary["completedInvestments"] == 0 and summary["expectedReturn"] == note["expectedReturn"]
    )


def test_a_loans_payments_and_schedule_in_the_documents_shape(call):
    loan, _ = issued_loan(["2000"], issued_on=date(2025, 1, 15))
    first = loan.installments[0]
    repayments.apply_payment(
        db.session, loan.id, first.principal_due + first.interest_due,
        received_on=first.due_date, idempotency_key="h1",
    )  # fmt: skip
    db.session.flush()
    status, body = call(loan.borrower, "GET", f"/payments/history/{loan.id}")
    assert status == 200 and body["success"] is True
    (payment,) = body["payments"]
    assert payment["amount"] == first.principal_due + first.interest_due
    assert payment["principalAmount"] == first.principal_due
    row = body["schedule"][0]
    assert set(row) >= {"dueDate", "amount", "principalAmount", "interestAmount", "status"}
    assert (
        row["amount"] == row["principalAmount"] + row["interestAmount"] and row["status"] == "paid"
    )
    assert len(body["schedule"]) == loan.term_months
    summary = body["summary"]
    assert summary["totalPaid"] == payment["amount"]
    assert summary["remainingBalance"] == loan.amount - first.principal_due
    assert summary["nextPaymentDue"] == loan.installments[1].due_date.isoformat()
    _refused(
        call(CompleteUserFactory(role=Role.BORROWER), "GET", f"/payments/history/{loan.id}"), 404
    )
    _refused(call(UserFactory(role=Role.LENDER), "GET", f"/payments/history/{loan.id}"), 403)


# --- the model ---------------------------------------------------------------------------


def test_assess_risk_with_the_example_body_scores_as_v1_does(app, call):
    person = UserFactory(role=Role.BORROWER)
    status, body = call(person, "POST", "/ml/assess-risk", {"userId": person.id, **ASSESS})
    assert status == 200 and body["success"] is True, body
    assessment = body["assessment"]
    _typed(assessment, {
        "riskScore": int, "riskGrade": (str, type(None)), "probabilityDefault": NUMBER,
        "recommendedInterestRate": NULLABLE_NUMBER, "riskFactors": dict,
    })  # fmt: skip
    factors = assessment["riskFactors"]
    assert factors["creditScore"] == 720 and factors["incomeStability"] == "employed"
    assert factors["loanAmount"] == Decimal("20.00")  # 15,000 of 75,000
    assert factors["debtToIncome"] == Decimal("12.50")  # the typical ratio, assumed
    assert "annual_income" not in assessment["assumed"] and "monthly_debt" in assessment["assumed"]
    # v1 with the same facts spelt out gives the same score: one model, one rule.
    secret, _ = api_tokens.issue(db.session, person, days=1)
    v1 = app.test_client().post(
        "/api/v1/ml/assess-risk",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "amount": "15000.00", "termMonths": 36, "purpose": "debt_consolidation",
            "annualIncome": "75000.00", "monthlyDebt": "781.25", "creditScore": 720,
            "creditHistoryMonths": 139, "revolvingBalance": "8826.50",
            "revolvingUtilization": "44.7", "inquiries6m": 1, "delinquencies2y": 0,
            "publicRecords": 0,
        },
    ).get_json()  # fmt: skip
    assert (assessment["riskScore"], assessment["riskGrade"]) == (v1["riskScore"], v1["grade"])
    assert str(assessment["recommendedInterestRate"]) == v1["recommendedRate"]


def test_assess_risk_fills_gaps_from_the_profile_and_guards_other_peoples(call):
    person = CompleteUserFactory(
        role=Role.BORROWER, credit_score=680, credit_score_source=CreditScoreSource.SELF_REPORTED
    )
    bare = {key: ASSESS[key] for key in ("loanAmount", "termMonths", "purpose")}
    status, body = call(person, "POST", "/ml/assess-risk", bare)
    assert status == 200 and body["assessment"]["riskFactors"]["creditScore"] == 680
    assert "credit_score" not in body["assessment"]["assumed"]
    stranger = UserFactory(role=Role.BORROWER)
    _refused(call(stranger, "POST", "/ml/assess-risk", {**bare, "userId": person.id}), 404)
    admin = UserFactory(role=Role.ADMIN)
    status, seen = call(admin, "POST", "/ml/assess-risk", {**bare, "userId": person.id})
    assert status == 200 and seen["assessment"]["riskFactors"]["creditScore"] == 680
    _refused(call(person, "POST", "/ml/assess-risk", {**bare, "loanAmount": -5}), 422)


def test_loan_matching_in_the_documents_shape_for_the_lender_alone(call):
    listed_loan("2000.00", rate="11.00")
    investor = lender(Decimal("500"))
    status, body = call(investor, "GET", f"/ml/loan-matching/{investor.id}")
    assert status == 200 and body["success"] is True
    for match in body["matches"]:
        _typed(match, {"loanId": int, "matchScore": int, "reasons": list})
    assert body["matches"]
    _refused(call(lender(Decimal("1")), "GET", f"/ml/loan-matching/{investor.id}"), 404)
    _refused(call(UserFactory(role=Role.BORROWER), "GET", f"/ml/loan-matching/{investor.id}"), 403)


def test_every_original_operation_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    expected = {
        ("/api/auth/register", "post"), ("/api/auth/login", "post"),
        ("/api/users/profile", "get"), ("/api/users/profile", "put"),
        ("/api/loans", "get"), ("/api/loans/{loan_id}", "get"), ("/api/loans/create", "post"),
        ("/api/investments/create", "post"), ("/api/investments/portfolio", "get"),
        ("/api/ml/assess-risk", "post"), ("/api/ml/loan-matching/{user_id}", "get"),
        ("/api/payments/history/{loan_id}", "get"),
    }  # fmt: skip
    for path, method in expected:
        operation = paths[path][method]
        assert "default" in operation["responses"], (path, method)


def test_v1_and_the_page_show_the_same_note_figures(app, call, client, login):
    investor = lender(Decimal("600"))
    loan, _ = issued_loan(
        ["600", "400"], lenders=[investor, lender(Decimal("400"))], issued_on=date(2025, 1, 15)
    )
    first = loan.installments[0]
    repayments.apply_payment(
        db.session, loan.id, first.principal_due + first.interest_due,
        received_on=first.due_date, idempotency_key="v1",
    )  # fmt: skip
    db.session.flush()
    _, original = call(investor, "GET", "/investments/portfolio")
    (note,) = original["investments"]
    secret, _ = api_tokens.issue(db.session, investor, days=1)
    v1 = (
        app.test_client()
        .get("/api/v1/investments/portfolio", headers={"Authorization": f"Bearer {secret}"})
        .get_json()["investments"][0]
    )
    assert Decimal(v1["expectedReturn"]) == note["expectedReturn"] > 0
    assert Decimal(v1["actualReturn"]) == note["actualReturn"] > 0
    assert v1["maturityDate"] == note["maturityDate"]
    login(investor)
    page = client.get("/lender/portfolio").get_data(as_text=True)
    assert f"${note['expectedReturn']:,.2f}" in page and f"${note['actualReturn']:,.2f}" in page
