"""Admin operations: dashboard figures, servicing actions, activity log, jobs, schedule."""

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
    Role,
    ServicingStatus,
)
from app.services.money import ledger
from app.services.platform import outbox
from app.services.servicing import servicing
from tests.builders import issued_loan
from tests.factories import UserFactory

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
    assert record.details["problems"] == 0
    assert b"balanced" in client.get("/admin/").data


def test_manual_payment_needs_a_reason_and_goes_through_the_money_engine(client, admin):
    loan, _ = issued_loan(["1000"], issued_on=date.today().replace(day=1))
    data = {
        "amount": "50.00",
        "received_on": date.today().isoformat(),
        "idempotency_key": str(uuid.uuid4()),
    }
    client.post(f"/admin/loans/{loan.id}/payment", data=data)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    client.post(f"/admin/loans/{loan.id}/payment", data={**data, "reason": "Cheque received"})
    client.post(
        f"/admin/loans/{loan.id}/payment", data={**data, "reason": "Cheque received"}
    )  # resubmitted
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert (
        db.session.scalars(
            select(ActivityLog.details).where(ActivityLog.action == "loan.manual_payment")
        ).one()["reason"]
        == "Cheque received"
    )
    assert ledger.verify(db.session) == []


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
    client.post(f"/admin/loans/{loan.id}/charge_off", data={"reason": "Bankruptcy filed"})
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


def test_jobs_page_lists_failed_jobs_and_retries_them(client, admin, monkeypatch):
    outbox.add(db.session, "flaky", {}, dedupe_key="flaky-ops")
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "flaky")).one()
    message.status, message.attempts, message.last_error = OutboxStatus.FAILED, 5, "smtp down"
    db.session.flush()
    page = client.get("/admin/jobs")
    assert b"flaky" in page.data and b"Retry" in page.data
    assert client.post(f"/admin/jobs/{message.id}/retry").status_code == 303
    assert message.status is OutboxStatus.PENDING and message.attempts == 0


def test_schedule_writes_each_recurring_job_once_per_period(app, monkeypatch, no_redis):
    now = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert tick(now) == 4
    assert tick(now) == 0
    assert tick(now.replace(hour=11)) == 2  # hourly: expiry and auto-invest sweep
    kinds = set(db.session.scalars(select(OutboxMessage.kind)))
    assert {"servicing_cycle", "expire_listings", "verify_ledger", "auto_invest_sweep"} <= kinds
    jobs.relay()
    assert db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "ledger.verified")
    ).all()
