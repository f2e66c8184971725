"""The borrower journey through the test client: apply, preview, offer, decision, documents, pay."""

import io
import re
import uuid
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.background import jobs
from app.extensions import db
from app.models import (
    Document,
    Loan,
    LoanStatus,
    Notification,
    OutboxMessage,
    Payment,
    RiskAssessment,
    Role,
    ServicingStatus,
)
from app.services.money import ledger
from tests.builders import issued_loan, verified_borrower
from tests.factories import CompleteUserFactory, UserFactory
from tests.helpers import HX, YES

D = Decimal
GOOD_FACTS = {
    "annual_income": "95000",
    "monthly_debt": "700",
    "credit_score": "760",
    "credit_history_months": "180",
    "revolving_balance": "3000",
    "revolving_utilization": "20",
    "inquiries_6m": "0",
    "delinquencies_2y": "0",
    "public_records": "0",
}
APPLICATION = {
    "amount": "10000",
    "term_months": "36",
    "purpose": "debt_consolidation",
    "title": "Consolidate cards",
    **GOOD_FACTS,
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture()
def borrower(login):
    return login(CompleteUserFactory(role=Role.BORROWER))


def _apply(client, **changes):
    return client.post("/borrower/applications", data={**APPLICATION, **changes})


def _loan(user) -> Loan:
    return db.session.scalars(select(Loan).where(Loan.borrower_id == user.id)).one()


def test_apply_needs_a_complete_profile(client, login):
    login(UserFactory(role=Role.BORROWER))
    response = client.get("/borrower/applications/new")
    assert response.status_code == 302 and response.headers["Location"] == "/account"


def test_apply_page_and_its_fragments_render(client, borrower):
    page = client.get("/borrower/applications/new")
    assert page.status_code == 200 and b'id="preview"' in page.data
    assert b"from $1,000.00 to $40,000.00" in page.data  # the limits table, not a copy
    for term in (b"36 months", b"60 months"):
        assert term in page.data
    outside = client.post(
        "/borrower/applications/preview",
        data={"amount": "40000.01", "term_months": "36"},
        headers=HX,
    )
    assert b"/ month" not in outside.data  # no figures for an amount nobody can apply for
    preview = client.post(
        "/borrower/applications/preview", data={"amount": "10000", "term_months": "36"}, headers=HX
    )
    assert preview.status_code == 200 and b"<html" not in preview.data
    assert b"$327.34" not in preview.data  # an example rate, not 10.99%
    assert b"/ month" in preview.data and b"(example)" in preview.data
    estimate = client.post("/borrower/applications/preview", data=APPLICATION, headers=HX)
    assert b"estimated grade" in estimate.data


def test_preview_uses_the_amortization_service(client, borrower, monkeypatch):
    from app.services.lending import origination

    # No credit facts yet, so no estimate: the example rate, set to G1's 10.99%.
    monkeypatch.setattr(origination, "EXAMPLE_RATE", D("10.99"))
    body = client.post(
        "/borrower/applications/preview", data={"amount": "10000", "term_months": "36"}, headers=HX
    ).get_data(as_text=True)
    # G1 under LendingClub's convention (payment up, interest down): last 327.11, interest
    # 1,784.01 (Fineract's half-even convention gives 327.33 and 1,784.23).
    assert "$327.34" in body and "$1,784.01" in body and "$327.11" in body


def test_fields_are_validated_inline(client, borrower):
    bad = client.post(
        "/borrower/applications/fields/credit_score", data={"credit_score": "990"}, headers=HX
    )
    assert bad.status_code == 422 and b"from 300 to 850" in bad.data and b"<html" not in bad.data
    good = client.post(
        "/borrower/applications/fields/credit_score", data={"credit_score": "720"}, headers=HX
    )
    assert good.status_code == 200 and b"error" not in good.data
    assert client.post("/borrower/applications/fields/password", headers=HX).status_code == 404


def test_invalid_application_is_422_and_creates_nothing(client, borrower):
    response = _apply(client, amount="500", credit_score="")
    assert response.status_code == 422
    assert (
        b"Enter an amount from $1,000" in response.data
        and b"This field is required" in response.data
    )
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 0


def test_the_form_sent_twice_makes_one_application(client, borrower):
    page = client.get("/borrower/applications/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    first = _apply(client, idempotency_key=key)
    again = _apply(client, idempotency_key=key)  # a double click, or a retry after no answer
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    made = _loan(borrower)  # exactly one
    assert first.headers["Location"] == f"/borrower/applications/{made.id}"
    fresh_key = client.get("/borrower/applications/new").get_data(as_text=True)
    assert key not in fresh_key  # each visit to the form is a new application


def test_submitting_queues_the_score_through_the_outbox_then_shows_the_offer(
    client, borrower, no_redis
):
    response = _apply(client)
    loan = _loan(borrower)
    assert (
        response.status_code == 303
        and response.headers["Location"] == f"/borrower/applications/{loan.id}"
    )
    assert loan.status is LoanStatus.SUBMITTED
    assert db.session.scalars(
        select(OutboxMessage.kind).where(OutboxMessage.kind == "score_application")
    ).one()
    waiting = client.get(f"/borrower/applications/{loan.id}/status", headers=HX)
    assert b"hx-trigger" in waiting.data and b"reviewing" in waiting.data
    jobs.relay()
    decided = client.get(f"/borrower/applications/{loan.id}/status", headers=HX)
    body = decided.get_data(as_text=True)
    assert "hx-trigger" not in body  # polling stops
    badge = re.search(r'<span id="application-status"[^>]*>([^<]*)<', body)  # issue 16 defect 4
    assert badge and 'hx-swap-oob="true"' in badge.group(0) and badge.group(1) == "offered"
    assert "Your offer" in body and "APR (with fee)" in body and "You receive" in body
    db.session.refresh(loan)
    assert f"{loan.amount - loan.origination_fee:,.2f}" in body
    assert db.session.scalars(select(RiskAssessment).where(RiskAssessment.loan_id == loan.id)).one()
    assert db.session.scalars(
        select(Notification.kind).where(
            Notification.user_id == borrower.id, Notification.kind == "loan.offered"
        )
    ).one()


def test_a_decline_shows_its_principal_reasons(client, borrower, no_redis):
    _apply(
        client,
        credit_score="620",
        inquiries_6m="6",
        public_records="2",
        revolving_utilization="98",
        annual_income="25000",
        purpose="business",
    )
    jobs.relay()
    loan = _loan(borrower)
    body = client.get(f"/borrower/applications/{loan.id}").get_data(as_text=True)
    assert loan.status is LoanStatus.DECLINED
    assert "principal reasons" in body and "Credit score 620 is below the 707 typical" in body


def test_without_ml_the_rules_decide(app, client, borrower, no_redis, monkeypatch):
    monkeypatch.setitem(app.config, "ENABLE_ML_SCORING", False)
    _apply(client)
    jobs.relay()
    assessment = db.session.scalars(select(RiskAssessment)).one()
    assert assessment.scorer == "rules"


def test_accept_and_withdraw(client, borrower, no_redis):
    _apply(client)
    jobs.relay()
    loan = _loan(borrower)
    asked = client.post(f"/borrower/applications/{loan.id}/accept")
    assert asked.status_code == 200 and b"Accept the offer for $" in asked.data
    assert b"You receive" in asked.data and b'name="confirmed" value="yes"' in asked.data
    db.session.refresh(loan)
    assert loan.status is LoanStatus.OFFERED
    assert client.post(f"/borrower/applications/{loan.id}/accept", data=YES).status_code == 303
    assert loan.status is LoanStatus.PENDING_APPROVAL
    asked = client.post(f"/borrower/applications/{loan.id}/withdraw")
    assert b"Withdraw your application" in asked.data and b"button-danger" in asked.data
    assert client.post(f"/borrower/applications/{loan.id}/withdraw", data=YES).status_code == 303
    assert loan.status is LoanStatus.WITHDRAWN
    # No offer to accept any more: no question, the refusal (flashed).
    assert client.post(f"/borrower/applications/{loan.id}/accept").status_code == 303
    assert loan.status is LoanStatus.WITHDRAWN


def test_someone_elses_application_is_404(client, login, no_redis):
    owner = CompleteUserFactory(role=Role.BORROWER)
    login(owner)
    _apply(client)
    loan = _loan(owner)
    client.post("/logout")
    login(CompleteUserFactory(role=Role.BORROWER))
    assert client.get(f"/borrower/applications/{loan.id}").status_code == 404
    assert client.post(f"/borrower/applications/{loan.id}/accept").status_code == 404


def test_dashboard_lists_states(client, borrower, no_redis):
    _apply(client)
    body = client.get("/borrower/").get_data(as_text=True)
    assert "Consolidate cards" in body and "submitted" in body


# Documents --------------------------------------------------------------------------------


def _upload(client, data, name="statement.pdf", kind="income"):
    return client.post(
        "/account/documents",
        data={"kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_upload_is_checked_by_content_and_stored_sealed_in_the_database(app, client, borrower):
    response = _upload(client, PDF, name="../../payslip.pdf")
    assert response.status_code == 303
    document = db.session.scalars(select(Document)).one()
    assert (
        document.content_type == "application/pdf" and document.original_filename == "payslip.pdf"
    )
    sealed = document.sealed_content  # in the database, where every web node reads it
    assert sealed.startswith(b"CLSEAL1\n") and PDF not in sealed
    assert not (Path(app.config["UPLOAD_FOLDER"]) / document.stored_name).exists()
    assert re.fullmatch(r"[0-9a-f]{32}", document.stored_name)
    assert client.get(f"/account/documents/{document.id}/download").data == PDF


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "cv.pdf"),  # an executable renamed
        (b"#!/bin/sh\nrm -rf /\n", "photo.jpg"),
        (b"plain text pretending", "notes.docx"),
    ],
)
def test_disguised_files_are_refused_and_nothing_is_stored(client, borrower, data, name):
    response = _upload(client, data, name=name)
    assert response.status_code == 422
    assert b"we check the contents" in response.data
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_a_word_document_is_accepted_and_a_zip_bomb_is_not(client, borrower):
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    assert _upload(client, docx.getvalue(), name="letter.docx").status_code == 303
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "0" * (60 * 1024 * 1024))
    response = _upload(client, bomb.getvalue(), name="big.docx")
    assert response.status_code == 422 and b"unpacks to more" in response.data


def test_an_over_size_upload_gets_a_friendly_413(app, client, borrower, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = _upload(client, PDF + b"0" * 4096)
    assert response.status_code == 413 and b"too large" in response.data
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_download_is_for_the_owner_and_admins_only(client, login, borrower):
    _upload(client, PDF)
    document = db.session.scalars(select(Document)).one()
    own = client.get(f"/account/documents/{document.id}/download")
    assert own.status_code == 200 and own.data == PDF
    assert own.headers["Content-Disposition"].startswith("attachment")
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    for role in (Role.BORROWER, Role.LENDER):
        client.post("/logout")
        login(UserFactory(role=role))
        assert client.get(f"/account/documents/{document.id}/download").status_code == 404
    client.post("/logout")
    login(UserFactory(role=Role.ADMIN))
    assert client.get(f"/account/documents/{document.id}/download").status_code == 200


# Paying -----------------------------------------------------------------------------------


@pytest.fixture()
def my_loan(login):
    loan, _ = issued_loan(["2500", "7500"], issued_on=date.today().replace(day=1))
    login(loan.borrower)
    return loan


def test_loan_page_and_fragments_render(client, my_loan):
    page = client.get(f"/borrower/loans/{my_loan.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Make a payment" in body and "Schedule" in body
    assert "$10,000.00" in body
    first_due = my_loan.installments[0].due_date
    assert f"{first_due:%b} {first_due.day}, {first_due.year}" in body  # not {first_due}
    assert first_due.isoformat() not in body
    history = client.get(f"/borrower/loans/{my_loan.id}/payments?page=1", headers=HX)
    assert history.status_code == 200 and b"<html" not in history.data


def _pay(client, loan, key=None, **data):
    """Pay, saying yes to the confirmation step (see the test of that step)."""
    return client.post(
        f"/borrower/loans/{loan.id}/payments",
        data={
            "choice": "scheduled",
            "idempotency_key": key or str(uuid.uuid4()),
            "confirmed": "yes",
            **data,
        },
        headers=HX,
    )


def test_paying_the_amount_due_applies_it_once_per_form(client, my_loan):
    key = str(uuid.uuid4())
    first = _pay(client, my_loan, key)
    again = _pay(client, my_loan, key)  # a double submit
    assert first.status_code == again.status_code == 204
    assert first.headers["HX-Redirect"] == f"/borrower/loans/{my_loan.id}"
    payments = db.session.scalars(select(Payment).where(Payment.loan_id == my_loan.id)).all()
    assert len(payments) == 1 and payments[0].amount == my_loan.monthly_payment
    assert ledger.verify(db.session) == []


def test_paying_too_much_is_a_422_fragment(client, my_loan):
    response = _pay(client, my_loan, choice="other", amount="999999.00")
    assert response.status_code == 422 and b"pays the loan off" in response.data
    assert b"<html" not in response.data
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"choice": "other"}, b"Enter the amount you want to pay."),
        ({"choice": "other", "amount": "NaN"}, b"Enter an amount in dollars and cents."),
        ({"choice": "other", "amount": "10.005"}, b"Use at most two decimal places."),
    ],
)
def test_another_amount_must_be_an_amount(client, my_loan, data, message):
    response = _pay(client, my_loan, **data)
    assert response.status_code == 422 and message in response.data
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_paid_off_loan_takes_no_scheduled_payment(client, my_loan):
    assert _pay(client, my_loan, choice="payoff").status_code == 204
    response = _pay(client, my_loan)
    assert response.status_code == 422 and b"Nothing is due on this loan now." in response.data
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_paying_off_closes_the_loan(client, my_loan):
    assert _pay(client, my_loan, choice="payoff").status_code == 204
    db.session.refresh(my_loan)
    assert my_loan.servicing_status is ServicingStatus.PAID_OFF
    assert ledger.verify(db.session) == []
    body = client.get(f"/borrower/loans/{my_loan.id}").get_data(as_text=True)
    assert "Make a payment" not in body


def test_someone_elses_loan_cannot_be_paid(client, login, my_loan):
    client.post("/logout")
    login(CompleteUserFactory(role=Role.BORROWER))
    assert _pay(client, my_loan).status_code == 404


def test_notifications_bell_list_and_mark_read(client, borrower):
    from app.services.platform import notifications

    notifications.notify(
        db.session, borrower.id, "loan.offered", "Your loan offer is ready", "Grade A", email=False
    )
    bell = client.get("/account/notifications/bell", headers=HX)
    assert bell.status_code == 200 and b">1<" in bell.data
    page = client.get("/account/notifications")
    assert b"Your loan offer is ready" in page.data
    read = client.post("/account/notifications/read", headers=HX)
    assert read.status_code == 200 and read.headers["HX-Trigger"] == "notifications-read"
    assert b">0<" in client.get("/account/notifications/bell", headers=HX).data


def test_a_late_fee_owed_on_a_current_loan_is_shown_as_owed_not_late(client, login):
    from datetime import timedelta

    from app.services.servicing import repayments, servicing

    issued = date.today() - timedelta(days=55)  # installment 2 falls due in 4 to 7 days
    loan, _ = issued_loan(["2500", "7500"], issued_on=issued)
    first = loan.installments[0]
    for day in servicing.business_dates(issued, first.due_date + timedelta(days=20)):
        servicing.run_cycle(db.session, day)  # installment 1 is 20 days late: one fee
    repayments.apply_payment(  # exactly the scheduled amount: the fee stays owed
        db.session,
        loan.id,
        first.principal_due + first.interest_due,
        received_on=first.due_date + timedelta(days=20),
        idempotency_key=f"k{first.id}",
    )
    for day in servicing.business_dates(first.due_date + timedelta(days=21), date.today()):
        servicing.run_cycle(db.session, day)
    login(loan.borrower)
    body = client.get(f"/borrower/loans/{loan.id}").get_data(as_text=True)
    assert "Late fees owed" in body and "$16.37" in body
    assert "Your payments are up to date" in body and "days past due" not in body


def _steps(client) -> list[str]:
    page = client.get("/borrower/").get_data(as_text=True)
    if "Next steps" not in page:
        return []
    return re.findall(
        r"<strong>([^<]+)</strong><span class=\"visually-hidden\">: ([^<]+)</span>", page
    )


def test_the_dashboard_lists_the_steps_to_a_listed_loan_until_all_are_done(client, login):
    person = login(UserFactory(role=Role.BORROWER))
    assert _steps(client) == [
        ("Profile complete", "not yet"),
        ("Identity document sent", "not yet"),
        ("Income document sent", "not yet"),
        ("Identity verified", "not yet"),
        ("Income verified", "not yet"),
    ]
    page = client.get("/borrower/").get_data(as_text=True)
    assert (
        'href="/account">Complete it</a>' in page and 'href="/account/documents">Upload it' in page
    )
    client.post("/logout")
    verified = login(verified_borrower())
    assert verified.id != person.id and _steps(client) == []
