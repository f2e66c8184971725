"""Affordability, the adverse-action notice and its human review, through the pages."""

from decimal import ROUND_CEILING, Decimal

import pytest
from sqlalchemy import select

from app.background import jobs
from app.extensions import db
from app.models import ActivityLog, AdverseActionNotice, Loan, LoanStatus, Notification, Role
from app.risk import grading
from tests.factories import CompleteUserFactory, UserFactory
from tests.helpers import HX
from tests.web.test_borrower import GOOD_FACTS

D = Decimal
STRETCHED = {  # a good credit record, but debts already take 30 % of income
    **GOOD_FACTS,
    "amount": "20000",
    "term_months": "36",
    "purpose": "debt_consolidation",
    "title": "Consolidate",
    "annual_income": "48000",
    "monthly_debt": "1200",
}


def _payment(amount: Decimal, rate: Decimal, months: int) -> Decimal:
    r = rate / 1200
    return (amount * r / (1 - (1 + r) ** -months)).quantize(D("0.01"), rounding=ROUND_CEILING)


@pytest.fixture()
def borrower(login):
    return login(CompleteUserFactory(role=Role.BORROWER))


def _apply(client, **changes) -> Loan:
    response = client.post("/borrower/applications", data={**STRETCHED, **changes})
    assert response.status_code in (302, 303), response.data[:300]
    jobs.relay()
    return db.session.scalars(select(Loan).order_by(Loan.id.desc())).first()


def _notice(loan: Loan) -> AdverseActionNotice:
    return db.session.scalars(
        select(AdverseActionNotice).where(AdverseActionNotice.loan_id == loan.id)
    ).one()


def test_an_unaffordable_request_gets_the_largest_counter_offer_with_its_numbers(
    client, borrower, no_redis, smtp
):
    loan = _apply(client)
    assert loan.status is LoanStatus.OFFERED
    assert loan.requested_amount == D("20000") and loan.amount < D("20000")
    # The offer fits by the published definition: (debts + payment) × 12 / income ≤ 40 %,
    # and $25 more at the same term and rate would not.
    payment = _payment(loan.amount, loan.interest_rate, loan.term_months)
    assert loan.monthly_payment == payment
    assert (D("1200") + payment) * 12 / D("48000") <= D("0.40")
    more = _payment(loan.amount + 25, loan.interest_rate, loan.term_months)
    assert (D("1200") + more) * 12 / D("48000") > D("0.40")
    page = client.get(f"/borrower/applications/{loan.id}").get_data(as_text=True)
    assert f"A counter-offer: ${loan.amount:,.2f} over {loan.term_months} months" in page
    figures = _notice(loan).figures
    assert f"{figures['requested']['debt_to_income']} % of income" in page
    assert f"{figures['counter']['debt_to_income']} % of income" in page
    assert "Download the notice" in page and 'id="review-form"' in page
    notice = _notice(loan)
    assert notice.kind == "counter_offer" and notice.model_version
    assert "above our 40 % limit" in notice.reasons[0]
    jobs.relay()  # the email the notice queued
    ((recipients, _),) = smtp.messages
    assert recipients == [borrower.email]
    assert (
        "NOTICE OF ACTION TAKEN" in smtp.text_of() and "Equal Credit Opportunity" in smtp.text_of()
    )


def test_debts_already_over_the_limit_decline_with_a_notice_to_keep(client, borrower, no_redis):
    loan = _apply(client, monthly_debt="1700")  # 42.5 % before any new payment
    assert loan.status is LoanStatus.DECLINED
    notice = _notice(loan)
    assert notice.kind == "decline" and notice.figures["counter"] is None
    download = client.get(f"/borrower/applications/{loan.id}/notice.txt")
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert "attachment" in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True)
    assert text == notice.text
    for part in (
        "CommunityLend, Inc.",
        "PRINCIPAL REASONS FOR THIS ACTION",
        "1. Your debts of $1,700.00 a month",
        "YOUR RIGHT TO A STATEMENT OF REASONS",
        "YOUR RIGHT TO A HUMAN REVIEW",
        "Consumer Financial Protection Bureau",
    ):
        assert part in text, part


def test_a_model_decline_names_up_to_four_principal_reasons(client, borrower, no_redis):
    loan = _apply(
        client, credit_score="600", inquiries_6m="6", public_records="2",
        revolving_utilization="98", monthly_debt="100", amount="5000",
    )  # fmt: skip
    assert loan.status is LoanStatus.DECLINED
    notice = _notice(loan)
    assert 1 <= len(notice.reasons) <= 4 and notice.reasons == loan.decision_reasons[:4]
    assert any(reason.startswith("Credit score 600 is below") for reason in notice.reasons)


def test_another_borrower_cannot_read_the_notice(client, borrower, login, no_redis):
    loan = _apply(client, monthly_debt="1700")
    client.post("/logout")
    login(CompleteUserFactory(role=Role.BORROWER))
    assert client.get(f"/borrower/applications/{loan.id}/notice.txt").status_code == 404


def test_a_review_request_reaches_the_admins_and_their_decision_reaches_the_applicant(
    client, borrower, login, no_redis
):
    loan = _apply(client, monthly_debt="1700")
    asked = client.post(
        f"/borrower/applications/{loan.id}/review",
        data={"note": "My partner's income pays half the rent."},
        headers=HX,
    )
    assert asked.status_code == 204 and asked.headers["HX-Redirect"]
    again = client.post(f"/borrower/applications/{loan.id}/review", data={}, headers=HX)
    assert again.status_code == 422 and b"already asked for a review" in again.data
    assert b'id="review-waiting"' in client.get(f"/borrower/applications/{loan.id}").data

    client.post("/logout")
    admin = login(UserFactory(role=Role.ADMIN))
    queue = client.get("/admin/reviews").get_data(as_text=True)
    assert f"Application #{loan.id}" in queue and "partner&#39;s income" in queue
    notice = _notice(loan)
    unexplained = client.post(
        f"/admin/reviews/{notice.id}", data={"outcome": "upheld", "reason": ""}, headers=HX
    )
    assert unexplained.status_code == 422 and b"Give the reason" in unexplained.data
    assert _notice(loan).reviewed_at is None
    decided = client.post(
        f"/admin/reviews/{notice.id}",
        data={"outcome": "upheld", "reason": "Only the applicant's own income can be counted."},
        headers=HX,
    )
    assert decided.status_code == 204
    db.session.expire_all()
    notice = _notice(loan)
    assert notice.review_outcome == "upheld" and notice.reviewer_id == admin.id
    logged = db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "notice.reviewed")
    ).one()
    assert logged.user_id == admin.id and logged.details["outcome"] == "upheld"
    told = db.session.scalars(
        select(Notification).where(
            Notification.user_id == borrower.id, Notification.kind == "notice.reviewed"
        )
    ).one()
    assert "The decision stands" in told.body and "own income" in told.body
    assert f"Application #{loan.id}" not in client.get("/admin/reviews").get_data(as_text=True)


def test_overturning_offers_the_loan_asked_for_at_the_reviewers_grade(
    client, borrower, login, no_redis
):
    loan = _apply(client)  # a counter-offer
    client.post(f"/borrower/applications/{loan.id}/review", data={"note": ""}, headers=HX)
    client.post("/logout")
    login(UserFactory(role=Role.ADMIN))
    notice = _notice(loan)
    gradeless = client.post(
        f"/admin/reviews/{notice.id}",
        data={"outcome": "overturned", "reason": "Verified a second income."},
        headers=HX,
    )
    assert gradeless.status_code == 422 and b"Choose the grade" in gradeless.data
    client.post(
        f"/admin/reviews/{notice.id}",
        data={"outcome": "overturned", "grade": "B3", "reason": "Verified a second income."},
        headers=HX,
    )
    db.session.expire_all()
    loan = db.session.get(Loan, loan.id)
    assert loan.status is LoanStatus.OFFERED and loan.amount == D("20000")
    assert loan.term_months == 36 and loan.risk_grade == "B3"
    assert loan.interest_rate == grading.rate_for_sub_grade("B3", 36)
    assert loan.monthly_payment == _payment(D("20000"), loan.interest_rate, 36)


def test_an_admin_decline_also_owes_a_notice(client, login, no_redis):
    borrower = login(CompleteUserFactory(role=Role.BORROWER))
    loan = _apply(client, monthly_debt="300", amount="5000")
    client.post(f"/borrower/applications/{loan.id}/accept", data={"confirmed": "yes"}, headers=HX)
    db.session.expire_all()
    assert db.session.get(Loan, loan.id).status is LoanStatus.PENDING_APPROVAL
    client.post("/logout")
    login(UserFactory(role=Role.ADMIN))
    client.post(
        f"/admin/applications/{loan.id}/decline",
        data={"reason": "Income could not be verified", "confirmed": "yes"},
        headers=HX,
    )
    db.session.expire_all()
    notice = _notice(loan)
    assert notice.kind == "decline" and notice.reasons == ["Income could not be verified"]
    assert notice.model_version is None and notice.user_id == borrower.id
