"""Admin operations: dashboard figures, servicing actions, activity log, jobs, schedule."""

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.background import jobs
from app.background.scheduler import tick
from app.extensions import db
from app.models import (
    ActivityLog,
    Installment,
    OutboxMessage,
    OutboxStatus,
    Payment,
    Provider,
    Role,
    ServicingStatus,
)
from app.services.errors import ValidationFailed
from app.services.money import ledger
from app.services.platform import activity, outbox
from app.services.servicing import repayments, servicing
from tests.builders import issued_loan, listed_loan
from tests.factories import UserFactory
from tests.helpers import HX, YES

D = Decimal


@pytest.fixture()
def admin(login):
    return login(UserFactory(role=Role.ADMIN))


@pytest.mark.parametrize("url", ["/admin/activity", "/admin/jobs"])
@pytest.mark.parametrize("role", [Role.BORROWER, Role.LENDER])
def test_operations_pages_refuse_other_roles(client, login, url, role):
    login(UserFactory(role=role))
    assert client.get(url).status_code == 403


def test_dashboard_shows_volumes_states_and_risk(client, admin):
    issued_loan(["4000", "6000"])
    body = client.get("/admin/").get_data(as_text=True)
    for text in (
        "Originated",
        "$10,000.00",
        "Cash held for lenders",
        "Risk by grade",
        "current",
        "Queues",
    ):
        assert text in body, text


def test_ledger_check_now_is_recorded(client, admin):
    issued_loan(["1000"])
    assert client.post("/admin/ledger/verify").status_code == 303
    record = db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "ledger.verified")
    ).one()
    assert record.details["problems"] == 0 and record.user_id == admin.id
    assert b"balanced" in client.get("/admin/").data


def test_verify_and_record_returns_the_problems_and_records_them(admin):
    assert ledger.verify_and_record(db.session) == []
    assert ledger.verify_and_record(db.session, user_id=admin.id) == []
    records = db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "ledger.verified").order_by(ActivityLog.id)
    ).all()
    assert [(r.user_id, r.details["problems"]) for r in records] == [(None, 0), (admin.id, 0)]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _actions(action: str) -> list[dict]:
    return list(db.session.scalars(select(ActivityLog.details).where(ActivityLog.action == action)))


@pytest.fixture()
def loan():
    loan, _ = issued_loan(["1000"], issued_on=date.today().replace(day=1))
    return loan


def _payment(**changes) -> dict:
    return {
        "amount": "50.00",
        "received_on": date.today().isoformat(),
        "reason": "Cheque received",
        "idempotency_key": str(uuid.uuid4()),
        **changes,
    }


def test_manual_payment_needs_a_reason_and_goes_through_the_money_engine(client, admin, loan):
    data = _payment(reason="")
    refused = client.post(f"/admin/loans/{loan.id}/payment", data=data)
    assert refused.status_code == 422
    assert b"Every servicing action needs a reason." in refused.data
    assert _count(Payment) == 0
    data["reason"] = "Cheque received"
    assert client.post(f"/admin/loans/{loan.id}/payment", data=data).status_code == 303
    assert client.post(f"/admin/loans/{loan.id}/payment", data=data).status_code == 303  # again
    assert _count(Payment) == 1
    assert [entry["reason"] for entry in _actions("loan.manual_payment")] == ["Cheque received"]
    assert len(_actions("loan.payment_applied")) == 1
    assert ledger.verify(db.session) == []


def test_a_resubmitted_payment_form_records_one_payment_and_one_entry(client, admin, loan):
    data = _payment()
    for _ in range(3):  # a double click, then the back button and submit again
        response = client.post(f"/admin/loans/{loan.id}/payment", data=data, headers=HX)
        assert response.status_code == 204
        assert response.headers["HX-Redirect"] == f"/admin/loans/{loan.id}"
    payment = db.session.scalars(select(Payment)).one()
    assert payment.amount == D("50.00") and payment.provider is Provider.MANUAL
    assert len(_actions("loan.manual_payment")) == 1
    assert len(_actions("loan.payment_applied")) == 1


def test_the_service_records_a_manual_payment_once_per_key(admin, loan):
    first, again = (
        repayments.record_manual_payment(
            db.session,
            loan.id,
            D("25.00"),
            received_on=date.today(),
            key="cheque-1",
            admin_id=admin.id,
            reason=reason,
        )
        for reason in (" Cheque ", "Cheque")
    )
    assert again.id == first.id and _count(Payment) == 1
    assert _actions("loan.manual_payment") == [
        {"loan_id": loan.id, "amount": "25.00", "reason": "Cheque"}
    ]
    with pytest.raises(ValidationFailed):
        repayments.record_manual_payment(
            db.session,
            loan.id,
            D("25.00"),
            received_on=date.today(),
            key="cheque-2",
            admin_id=admin.id,
            reason="  ",
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "NaN"}, b"Enter an amount in dollars and cents."),
        ({"amount": "Infinity"}, b"Enter an amount in dollars and cents."),
        ({"amount": "abc"}, b"Enter an amount in dollars and cents."),
        ({"amount": ""}, b"Enter an amount."),
        ({"amount": "-5"}, b"Enter an amount from $0.01 to $10,000,000."),
        ({"amount": "1.001"}, b"Use at most two decimal places."),
        ({"received_on": "yesterday"}, b"Not a valid date value."),
        ({"reason": "  "}, b"Every servicing action needs a reason."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_manual_payment_is_422_with_the_message_and_changes_nothing(
    client, admin, loan, changes, message, htmx
):
    response = client.post(
        f"/admin/loans/{loan.id}/payment", data=_payment(**changes), headers=HX if htmx else {}
    )
    assert response.status_code == 422
    assert message in response.data
    assert (b"<html" in response.data) is not htmx
    assert b'id="servicing-forms"' in response.data
    assert _count(Payment) == 0 and _actions("loan.manual_payment") == []


def test_a_refused_payment_keeps_its_idempotency_key(client, admin, loan):
    data = _payment(amount="abc")
    response = client.post(f"/admin/loans/{loan.id}/payment", data=data, headers=HX)
    assert response.status_code == 422
    assert f'value="{data["idempotency_key"]}"'.encode() in response.data


def test_loan_page_and_its_forms_fragment_render(client, admin, loan):
    page = client.get(f"/admin/loans/{loan.id}")
    assert page.status_code == 200 and b"Record a payment" in page.data
    assert b'name="idempotency_key"' in page.data


def test_waiving_needs_a_reason_and_an_installment_of_this_loan(client, admin):
    loan, _ = issued_loan(["1000"], issued_on=date(2023, 12, 15))
    other, _ = issued_loan(["1000"], issued_on=date(2023, 12, 15))
    for day in servicing.business_dates(date(2024, 1, 15), date(2024, 2, 1)):
        servicing.run_cycle(db.session, day)
    mine, theirs = (
        db.session.scalars(
            select(Installment).where(Installment.loan_id == owner.id, Installment.number == 1)
        ).one()
        for owner in (loan, other)
    )
    url = f"/admin/loans/{loan.id}/waive"
    no_reason = client.post(url, data={"installment_id": mine.id, "reason": ""}, headers=HX)
    assert no_reason.status_code == 422 and b"needs a reason" in no_reason.data
    for wrong in (theirs.id, "abc", ""):
        response = client.post(url, data={"installment_id": wrong, "reason": "Hardship"})
        assert response.status_code == 422
        assert b"Choose an installment with an unpaid late fee." in response.data
    db.session.refresh(mine)
    db.session.refresh(theirs)
    assert mine.fee_due == theirs.fee_due == D("15.00")
    assert _actions("loan.late_fee_waived") == []


def test_charging_off_needs_a_reason_and_a_loan_that_can_be_charged_off(client, admin, loan):
    url = f"/admin/loans/{loan.id}/charge_off"
    response = client.post(url, data={"reason": ""}, headers=HX)
    assert response.status_code == 422 and b"needs a reason" in response.data
    assert b"<html" not in response.data
    db.session.refresh(loan)
    assert loan.servicing_status is not ServicingStatus.CHARGED_OFF
    assert client.post(url, data={"reason": "Bankruptcy filed", **YES}).status_code == 303
    again = client.post(url, data={"reason": "Bankruptcy filed"})
    assert again.status_code == 422 and b"cannot be charged off now" in again.data
    assert len(_actions("loan.charged_off")) == 1


@pytest.mark.parametrize("action", ["refund", "delete", "loan_action"])
def test_unknown_loan_actions_are_404(client, admin, loan, action):
    assert client.post(f"/admin/loans/{loan.id}/{action}", data={"reason": "x"}).status_code == 404


def test_servicing_a_missing_loan_is_404(client, admin):
    assert client.post("/admin/loans/999999/payment", data=_payment()).status_code == 404


def test_waiving_a_late_fee_and_charging_off(client, admin):
    loan, _ = issued_loan(["1000"], issued_on=date(2023, 12, 15))
    for day in servicing.business_dates(date(2024, 1, 15), date(2024, 2, 1)):
        servicing.run_cycle(db.session, day)
    first = db.session.scalars(
        select(Installment).where(Installment.loan_id == loan.id, Installment.number == 1)
    ).one()
    assert first.fee_due == D("15.00")
    client.post(
        f"/admin/loans/{loan.id}/waive", data={"installment_id": first.id, "reason": "Hardship"}
    )
    db.session.refresh(first)
    assert first.fee_due == D("0.00")
    assert client.get(f"/admin/loans/{loan.id}").status_code == 200
    client.post(f"/admin/loans/{loan.id}/charge_off", data={"reason": "Bankruptcy filed", **YES})
    db.session.refresh(loan)
    assert loan.servicing_status is ServicingStatus.CHARGED_OFF
    assert ledger.verify(db.session) == []


def test_activity_log_filters(client, admin):
    other = UserFactory(role=Role.LENDER)
    client.post("/login", data={"email": other.email, "password": "wrong password here"})
    page = client.get("/admin/activity?action=auth.sign_in_failed", headers={"HX-Request": "true"})
    assert (
        page.status_code == 200
        and b"auth.sign_in_failed" in page.data
        and b"<html" not in page.data
    )
    assert b"auth.signed_in" not in page.data
    assert (
        b"Nothing matches"
        in client.get("/admin/activity?since=2999-01-01", headers={"HX-Request": "true"}).data
    )


def test_the_activity_log_pages_forward_and_back_keeping_its_filters(client, admin):
    """Issue 16 defect 6: 50 rows and "Page 1" with no way on."""
    for n in range(120):
        activity.record(db.session, "probe.row", user_id=admin.id, n=n)
    db.session.flush()
    first = client.get("/admin/activity?action=probe.").get_data(as_text=True)
    older = re.search(r'href="(/admin/activity\?[^"]*page=2[^"]*)"', first)
    assert older and "action=probe." in older.group(1) and "Newer" not in first
    assert first.count("probe.row") == 50 and "n=119" in first
    last = client.get("/admin/activity?action=probe.&page=3").get_data(as_text=True)
    assert last.count("probe.row") == 20 and "n=0 " in last
    pager = last[last.index('<nav class="pager"') :]
    pager = pager[: pager.index("</nav>")]
    assert "Older" not in pager and "Newer" in pager and "page=2" in pager


@pytest.mark.parametrize(
    "query",
    [
        "page=" + "9" * 30,
        "page=²",
        "user=²",
        "user=" + "9" * 30,
        "until=9999-12-31",
        "since=x",
    ],
)
def test_activity_log_survives_odd_filters(client, admin, query):
    assert client.get(f"/admin/activity?{query}", headers=HX).status_code == 200


def test_jobs_page_lists_failed_jobs_and_retries_them(client, admin, monkeypatch):
    outbox.add(db.session, "flaky", {}, dedupe_key="flaky-ops")
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "flaky")).one()
    message.status, message.attempts, message.last_error = OutboxStatus.FAILED, 5, "smtp down"
    db.session.flush()
    page = client.get("/admin/jobs")
    assert b"flaky" in page.data and b"Retry" in page.data
    assert client.post(f"/admin/jobs/{message.id}/retry").status_code == 303
    assert message.status is OutboxStatus.PENDING and message.attempts == 0


def test_schedule_writes_each_recurring_job_once_per_period(no_redis):
    now = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    # Six daily or more often, and the statements of the month and the year before.
    assert tick(now) == 8
    assert tick(now) == 0
    assert tick(now.replace(minute=19)) == 0  # the same ten minutes
    assert tick(now.replace(minute=20)) == 1  # the dashboard's snapshot, every 10 minutes
    assert tick(now.replace(hour=11)) == 3  # hourly: expiry and auto-invest sweep; a snapshot
    kinds = set(db.session.scalars(select(OutboxMessage.kind)))
    assert {"servicing_cycle", "expire_listings", "verify_ledger", "auto_invest_sweep",
            "snapshot_book", "measure_drift", "issue_monthly_statements",
            "issue_yearly_statements"} <= kinds  # fmt: skip
    jobs.relay()
    assert db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "ledger.verified")
    ).all()


def test_the_loan_book_filters_by_state_and_finds_by_number_or_borrower(client, admin, loan):
    listing = listed_loan("4000.00")
    listing.title = "Solar panels"
    book = client.get("/admin/loans").get_data(as_text=True)
    assert "2 loans" in book and f"#{loan.id}" in book and f"#{listing.id} Solar panels" in book
    assert f'href="/admin/loans/{loan.id}"' in book  # issued: its servicing page
    assert f'href="/admin/applications/{listing.id}"' in book
    listed = client.get("/admin/loans?state=listed", headers=HX).get_data(as_text=True)
    assert "<html" not in listed and "1 loan" in listed and f"#{listing.id}" in listed
    assert f"#{loan.id}<" not in listed
    by_number = client.get(f"/admin/loans?q=%23{loan.id}").get_data(as_text=True)
    assert "1 loan" in by_number and f"#{loan.id}" in by_number
    email = listing.borrower.email
    by_email = client.get(f"/admin/loans?q={email}").get_data(as_text=True)
    assert "1 loan" in by_email and f"#{listing.id}" in by_email
    # Nonsense is no error: an unknown state is ignored, a bad page is the first.
    odd = client.get("/admin/loans?state=lost&page=abc")
    assert odd.status_code == 200 and "2 loans" in odd.get_data(as_text=True)


def test_the_dashboard_reads_a_snapshot_and_refresh_takes_a_new_one(client, admin):
    """Its figures cost the same on any book: they are read from the latest snapshot (every
    10 minutes, or now on "Refresh"), labelled with when they were taken."""
    from app.background import jobs
    from app.background.scheduler import SCHEDULE
    from app.models import BookSnapshot

    issued_loan(["4000", "6000"])
    first = client.get("/admin/").get_data(as_text=True)
    assert "$10,000.00" in first and "Figures as of" in first
    issued_loan(["2500"])
    assert "$12,500.00" not in client.get("/admin/").get_data(as_text=True)  # as of the snapshot
    assert client.post("/admin/snapshots").status_code == 303
    assert "$12,500.00" in client.get("/admin/").get_data(as_text=True)
    jobs.snapshot_book({})  # what the scheduler writes every 10 minutes
    assert db.session.scalar(select(func.count()).select_from(BookSnapshot)) == 3
    period = SCHEDULE["snapshot_book"][1]
    from datetime import datetime

    ten_past, nineteen_past = datetime(2026, 12, 4, 9, 10), datetime(2026, 12, 4, 9, 19)
    assert period(ten_past) == period(nineteen_past) != period(datetime(2026, 12, 4, 9, 20))
