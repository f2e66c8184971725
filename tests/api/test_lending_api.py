"""Loans, investing, payments and risk over the API, with the pages' ownership rules."""

from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Investment, Loan, LoanStatus, OutboxMessage, Payment, Role
from tests.api.conftest import idem
from tests.builders import assert_ledger_balances, issued_loan, lender, listed_loan
from tests.factories import CompleteUserFactory, UserFactory

D = Decimal
APPLICATION = {
    "amount": "8000.00",
    "termMonths": 36,
    "purpose": "credit_card",
    "annualIncome": "72000.00",
    "monthlyDebt": "900.00",
    "creditScore": 712,
    "creditHistoryMonths": 120,
    "revolvingBalance": "8000.00",
    "revolvingUtilization": "42.0",
    "inquiries6m": 1,
    "delinquencies2y": 0,
    "publicRecords": 0,
}


def test_a_borrower_applies_and_the_score_is_queued(api):
    borrower = CompleteUserFactory(role=Role.BORROWER)
    response = api(borrower).post("/loans", {**APPLICATION, "title": "Cards"})
    assert response.status_code == 201, response.json
    loan = response.json
    assert (
        loan["status"] == "submitted" and loan["amount"] == "8000.00" and loan["riskGrade"] is None
    )
    assert (
        db.session.scalar(
            select(func.count()).where(
                OutboxMessage.kind == "score_application",
                OutboxMessage.payload["loan_id"].as_integer() == loan["id"],
            )
        )
        == 1
    )


def test_an_application_asked_again_under_its_key_is_made_once(api):
    borrower = CompleteUserFactory(role=Role.BORROWER)
    client, key = api(borrower), idem()
    first = client.post("/loans", APPLICATION, headers=key)
    again = client.post("/loans", APPLICATION, headers=key)  # the client heard no answer
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"]
    other = client.post("/loans", {**APPLICATION, "amount": "9000.00"}, headers=key)
    assert other.status_code == 409 and "already used" in other.json["message"]
    fresh = client.post("/loans", APPLICATION, headers=idem())  # a new key: a new application
    assert fresh.status_code == 201 and fresh.json["id"] != first.json["id"]
    made = select(func.count()).select_from(Loan).where(Loan.borrower_id == borrower.id)
    assert db.session.scalar(made) == 2
    queued = select(func.count()).where(OutboxMessage.kind == "score_application")
    assert db.session.scalar(queued) == 2


def test_the_term_must_be_one_the_policy_offers(api, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOAN_TERMS", (36,))
    client = api(CompleteUserFactory(role=Role.BORROWER))
    refused = client.post("/loans", {**APPLICATION, "termMonths": 60})
    assert refused.status_code == 422
    assert refused.json["fields"] == {"termMonths": "Choose one of the offered terms."}
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 0
    assert client.post("/loans", {**APPLICATION, "termMonths": 36}).status_code == 201


def test_applications_are_checked_like_the_form(api):
    borrower = CompleteUserFactory(role=Role.BORROWER)
    client = api(borrower)
    bad = client.post(
        "/loans", {**APPLICATION, "amount": "-5", "creditScore": 900, "termMonths": 0}
    )
    assert bad.status_code == 422
    assert set(bad.json["fields"]) == {"amount", "creditScore", "termMonths"}
    float_amount = client.post("/loans", {**APPLICATION, "amount": 8000.1})
    assert float_amount.status_code == 422 and "amount" in float_amount.json["fields"]
    assert (
        api(UserFactory(role=Role.BORROWER)).post("/loans", APPLICATION).json["error"]
        == "profile_incomplete"
    )
    assert api(UserFactory(role=Role.LENDER)).post("/loans", APPLICATION).status_code == 403


def test_borrowers_see_only_their_loans_and_others_get_404(api):
    mine = listed_loan("5000.00")
    theirs = listed_loan("6000.00")
    client = api(mine.borrower)
    listing = client.get("/loans").json
    assert [loan["id"] for loan in listing["loans"]] == [mine.id]
    assert listing["pagination"] == {"page": 1, "limit": 20, "total": 1, "totalPages": 1}
    assert client.get(f"/loans/{mine.id}").status_code == 200
    other = client.get(f"/loans/{theirs.id}")
    assert other.status_code == 404 and other.json["error"] == "not_found"


def test_lenders_see_listings_with_a_borrower_summary_but_no_identity(api):
    loan = listed_loan("5000.00")
    body = api(UserFactory(role=Role.LENDER)).get(f"/loans/{loan.id}").json
    assert body["fundedAmount"] == "0.00" and body["fundingDeadline"] is not None
    assert body["borrower"]["scoreBand"] and body["borrower"]["incomeBand"]
    assert "creditScore" not in body and "annualIncome" not in body
    assert str(loan.borrower.email) not in str(body)
    assert body["totalPayment"] is not None and D(body["totalPayment"]) > D("5000.00")


def test_filters_sorting_and_pages(api):
    for amount in ("3000.00", "5000.00", "7000.00", "9000.00"):
        listed_loan(amount)
    client = api(UserFactory(role=Role.ADMIN))
    page = client.get(
        "/loans", minAmount="4000", maxAmount="8000", sortBy="amount", sortOrder="asc"
    ).json
    assert [loan["amount"] for loan in page["loans"]] == ["5000.00", "7000.00"]
    second = client.get("/loans", limit=3, page=2, sortBy="amount").json
    assert [loan["amount"] for loan in second["loans"]] == ["3000.00"]
    assert second["pagination"] == {"page": 2, "limit": 3, "total": 4, "totalPages": 2}
    assert client.get("/loans", riskGrade="B").json["pagination"]["total"] == 4
    assert client.get("/loans", riskGrade="A").json["pagination"]["total"] == 0
    assert client.get("/loans", status="issued").json["loans"] == []
    bad = client.get("/loans", sortBy="borrower", limit=1000)
    assert bad.status_code == 422 and set(bad.json["fields"]) == {"sortBy", "limit"}


def test_investing_is_idempotent_and_checks_the_rules(api):
    loan = listed_loan("5000.00")
    investor = lender(D("300"))
    client = api(investor)
    headers = idem()
    first = client.post("/investments", {"loanId": loan.id, "amount": "100.00"}, headers)
    again = client.post("/investments", {"loanId": loan.id, "amount": "100.00"}, headers)
    assert first.status_code == 201 and again.json["id"] == first.json["id"]
    assert db.session.scalar(select(func.count()).select_from(Investment)) == 1
    reused = client.post("/investments", {"loanId": loan.id, "amount": "50.00"}, headers)
    assert reused.status_code == 409 and reused.json["error"] == "conflict"
    broke = client.post("/investments", {"loanId": loan.id, "amount": "1000.00"}, idem())
    assert broke.status_code == 422
    odd = client.post("/investments", {"loanId": loan.id, "amount": "30.00"}, idem())
    assert odd.status_code == 422
    missing_key = client.post("/investments", {"loanId": loan.id, "amount": "25.00"})
    assert missing_key.status_code == 422 and "Idempotency-Key" in missing_key.json["fields"]
    assert (
        api(loan.borrower)
        .post("/investments", {"loanId": loan.id, "amount": "25.00"}, idem())
        .status_code
        == 403
    )
    assert_ledger_balances()


def test_an_investment_answers_the_loan_as_reserved_without_reading_it_again(api):
    """The answer's loan fields come from the reservation itself (place_note's RETURNING):
    they agree with the portfolio, which reads the loan from the database, and no statement
    of the request reads the loans table. The second note fills the loan."""
    from sqlalchemy import event

    loan = listed_loan("200.00")
    investor = lender(D("1000"))
    client = api(investor)
    db.session.expunge_all()  # nothing of the loan in the session the request uses
    seen = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    answers = []
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        for amount in ("100.00", "100.00"):
            answers.append(
                client.post("/investments", {"loanId": loan.id, "amount": amount}, idem())
            )
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert [answer.status_code for answer in answers] == [201, 201]
    assert not [text for text in seen if "FROM loans" in text], seen
    db.session.expunge_all()
    listed = {note["id"]: note for note in client.get("/investments/portfolio").json["investments"]}
    stored = db.session.get(Loan, loan.id)
    for answer in answers:
        note = answer.json
        for field in (
            "loanGrade",
            "loanInterestRate",
            "loanStatus",
            "expectedReturn",
            "maturityDate",
            "amount",
            "status",
        ):
            assert note[field] == listed[note["id"]][field], field
        assert note["loanGrade"] == stored.risk_grade
        assert note["loanInterestRate"] == str(stored.interest_rate)
    assert stored.funded_amount == stored.amount and stored.status is LoanStatus.LISTED
    assert_ledger_balances()


def test_the_portfolio_summarises_notes_and_returns(api):
    loan, notes = issued_loan(["600.00", "400.00"])
    owner = notes[0].lender
    body = api(owner).get("/investments/portfolio").json
    assert [note["id"] for note in body["investments"]] == [notes[0].id]
    summary = body["summary"]
    assert summary["totalInvested"] == "600.00" and summary["outstandingPrincipal"] == "600.00"
    assert summary["activeCount"] == 1 and summary["completedCount"] == 0
    assert D(summary["expectedReturn"]) > 0 and summary["actualReturn"] == "0.00"
    assert api(loan.borrower).get("/investments/portfolio").status_code == 403


def test_payments_are_idempotent_and_only_for_the_borrowers_own_loan(api):
    loan, _ = issued_loan(["1000.00"])
    client = api(loan.borrower)
    headers = idem()
    paid = client.post("/payments", {"loanId": loan.id, "amount": "50.00"}, headers)
    repeat = client.post("/payments", {"loanId": loan.id, "amount": "50.00"}, headers)
    assert paid.status_code == 201, paid.json
    assert paid.json["payment"]["id"] == repeat.json["payment"]["id"]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    stranger = api(CompleteUserFactory(role=Role.BORROWER))
    assert (
        stranger.post("/payments", {"loanId": loan.id, "amount": "50.00"}, idem()).status_code
        == 404
    )
    assert stranger.get(f"/payments/history/{loan.id}").status_code == 404
    history = client.get(f"/payments/history/{loan.id}").json
    assert len(history["payments"]) == 1 and len(history["schedule"]) == 36
    assert history["summary"]["totalPaid"] == "50.00"
    applied = history["payments"][0]
    assert sum(D(applied[k]) for k in ("principalApplied", "interestApplied", "feesApplied")) == 50
    assert history["summary"]["remainingBalance"] == f"{loan.principal_outstanding:.2f}"
    assert history["summary"]["nextPaymentDue"] is not None
    assert_ledger_balances()


def test_assess_risk_scores_without_applying(api):
    body = api(UserFactory(role=Role.BORROWER)).post("/ml/assess-risk", APPLICATION).json
    assert 0 < body["probabilityOfDefault"] < 1 and body["riskScore"] > 300
    assert body["grade"][0] in "ABCDEFG" and body["recommendedRate"] is not None
    # An average applicant has no factor on the risky side worth naming; a weaker one does.
    assert body["riskFactors"] == []
    weaker = {**APPLICATION, "creditScore": 640, "revolvingUtilization": "95", "inquiries6m": 5}
    factors = (
        api(UserFactory(role=Role.BORROWER)).post("/ml/assess-risk", weaker).json["riskFactors"]
    )
    assert {"credit_score", "log_inquiries_6m"} <= {factor["code"] for factor in factors}
    assert all({"code", "text"} <= set(factor) for factor in factors)
    assert api(UserFactory(role=Role.BORROWER)).post("/ml/assess-risk", {}).status_code == 422


def test_loan_matching_is_for_oneself_or_an_admin(api):
    listed_loan("5000.00")
    me, other = UserFactory(role=Role.LENDER), UserFactory(role=Role.LENDER)
    mine = api(me).get(f"/ml/loan-matching/{me.id}")
    assert (
        mine.status_code == 200
        and mine.json["matches"][0]["loan"]["status"] == LoanStatus.LISTED.value
    )
    assert api(me).get(f"/ml/loan-matching/{other.id}").status_code == 404
    assert api(UserFactory(role=Role.ADMIN)).get(f"/ml/loan-matching/{other.id}").status_code == 200
    assert api(UserFactory(role=Role.BORROWER)).get(f"/ml/loan-matching/{me.id}").status_code == 403


def test_money_endpoints_are_rate_limited_per_person(api, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_MONEY_RATE_LIMIT", "2 per minute")
    loan = listed_loan("5000.00")
    client = api(lender(D("500")))
    codes = [
        client.post("/investments", {"loanId": loan.id, "amount": "25.00"}, idem()).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]
    other = api(lender(D("100")))
    assert (
        other.post("/investments", {"loanId": loan.id, "amount": "25.00"}, idem()).status_code
        == 201
    )


def test_a_loss_making_portfolio_still_matches_the_contract(api):
    from datetime import date

    from app.services.servicing import servicing

    loan, notes = issued_loan(["1000.00"], issued_on=date(2024, 1, 15))
    servicing.charge_off(db.session, loan.id, date(2024, 9, 1), reason="test")
    summary = api(notes[0].lender).get("/investments/portfolio").json["summary"]
    assert summary["actualReturn"] == "-1000.00"
    assert summary["narPercent"] is None or D(summary["narPercent"]) < 0
    assert summary["completedCount"] == 1


def test_the_contract_check_itself_catches_a_wrong_body(app):
    """The per-response check above is real: a body that breaks the schema fails it."""
    import pytest

    from app.services.accounts import api_tokens
    from tests.api.conftest import _contract

    secret, _ = api_tokens.issue(db.session, lender(D("100")), days=1)
    response = app.test_client().get(
        "/api/v1/investments/portfolio", headers={"Authorization": f"Bearer {secret}"}
    )
    operation = _contract(app)["/api/v1/investments/portfolio"]["GET"]
    operation.validate_response(response)  # the real body passes
    response.set_data(b'{"investments": [], "summary": {"actualReturn": 5}}')
    with pytest.raises(Exception, match="not of type"):
        operation.validate_response(response)


def test_every_amount_up_to_the_payoff_is_taken_and_more_is_a_422(api):
    """Issue 13 point 4 over the API: a loan long behind (all installments due)."""
    from datetime import date

    from app.services.servicing import repayments

    loan, _ = issued_loan(["2500.00", "7500.00"])
    client = api(loan.borrower)
    payoff = repayments.payoff_amount(db.session, loan, date.today()).total
    refused = client.post(
        "/payments", {"loanId": loan.id, "amount": f"{payoff + D('0.01')}"}, idem()
    )
    assert refused.status_code == 422 and "pays the loan off" in str(refused.json)
    short = client.post("/payments", {"loanId": loan.id, "amount": f"{payoff - D('0.01')}"}, idem())
    assert short.status_code == 201, short.json
    last = client.post("/payments", {"loanId": loan.id, "amount": "0.01"}, idem())
    assert last.status_code == 201, last.json
    db.session.refresh(loan)
    assert loan.servicing_status.value == "paid_off"
    assert_ledger_balances()
