"""The collections queue through the web, and what a noteholder's loan page shows of it."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActivityLog, CollectionNote, CollectionTask, PromiseToPay, Role, TaskState
from app.services.servicing.servicing import business_dates, run_cycle
from tests.builders import issued_loan
from tests.factories import UserFactory
from tests.helpers import HX

SECRET_NOTE = "Said her brother Xavier will lend the money"


@pytest.fixture()
def late():
    """A loan 20 days past due today, with its collections task."""
    today = date.today()
    loan, notes = issued_loan(["1000", "3000"], issued_on=today - timedelta(days=50))
    first_due = min(i.due_date for i in loan.installments)
    for day in business_dates(first_due - timedelta(days=5), today):
        run_cycle(db.session, day)
    task = db.session.scalars(select(CollectionTask).where(CollectionTask.loan_id == loan.id)).one()
    return loan, notes, task, today


def _actions(task):
    return db.session.scalars(
        select(ActivityLog.action).where(
            ActivityLog.entity_type == "collection_tasks", ActivityLog.entity_id == task.id
        )
    ).all()


def test_an_admin_works_a_task_from_the_queue(client, login, late):
    loan, _, task, today = late
    admin = login(UserFactory(role=Role.ADMIN))
    queue = client.get("/admin/collections").get_data(as_text=True)
    assert f"/admin/collections/{task.id}" in queue and f"#{loan.id}" in queue
    assert f">{loan.days_past_due}<" in queue
    mine = client.get("/admin/collections?assignee=me", headers=HX).get_data(as_text=True)
    assert f"/admin/collections/{task.id}" not in mine

    to_me = client.post(f"/admin/collections/{task.id}/assign", data={"assignee_id": admin.id})
    assert to_me.status_code == 303
    mine = client.get("/admin/collections?assignee=me", headers=HX).get_data(as_text=True)
    assert f"/admin/collections/{task.id}" in mine

    noted = client.post(
        f"/admin/collections/{task.id}/notes", data={"body": SECRET_NOTE}, headers=HX
    )
    assert (
        noted.status_code == 204 and noted.headers["HX-Redirect"] == f"/admin/collections/{task.id}"
    )
    assert SECRET_NOTE in client.get(f"/admin/collections/{task.id}").get_data(as_text=True)

    promise = {"pay_by": (today + timedelta(days=7)).isoformat(), "amount": "100.00"}
    kept = client.post(f"/admin/collections/{task.id}/promises", data=promise, headers=HX)
    assert kept.status_code == 204
    db.session.refresh(task)
    assert task.state is TaskState.PROMISED
    closed = client.post(
        f"/admin/collections/{task.id}/close", data={"outcome": "resolved"}, headers=HX
    )
    assert closed.status_code == 204
    db.session.refresh(task)
    assert task.state is TaskState.CLOSED and task.outcome == "resolved"
    assert set(_actions(task)) == {
        "collections.assigned",
        "collections.noted",
        "collections.promise_recorded",
        "collections.closed",
    }


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"pay_by": "", "amount": "10.00"}, "pay_by", "Enter the promised date."),
        ({"pay_by": "+40", "amount": "10.00"}, "pay_by", "Choose a date from"),
        ({"pay_by": "+3", "amount": "0"}, "amount", "Enter an amount from"),
        ({"pay_by": "+3", "amount": "99999.00"}, "amount", "The borrower owes"),
        ({"pay_by": "+3", "amount": "abc"}, "amount", ""),
    ],
)
def test_a_bad_promise_comes_back_with_its_field_error(client, login, late, data, field, message):
    _, _, task, today = late
    login(UserFactory(role=Role.ADMIN))
    if data["pay_by"].startswith("+"):
        data = {**data, "pay_by": (today + timedelta(days=int(data["pay_by"]))).isoformat()}
    refused = client.post(f"/admin/collections/{task.id}/promises", data=data, headers=HX)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert f'id="promise-{field}-error"' in body and message in body
    assert 'id="task-forms"' in body and "<html" not in body
    assert db.session.scalars(select(PromiseToPay)).all() == []


def test_bad_notes_and_outcomes_are_refused(client, login, late):
    _, _, task, _ = late
    login(UserFactory(role=Role.ADMIN))
    blank = client.post(f"/admin/collections/{task.id}/notes", data={"body": "  "}, headers=HX)
    assert blank.status_code == 422 and b"Write the note." in blank.data
    bogus = client.post(
        f"/admin/collections/{task.id}/close", data={"outcome": "bribed"}, headers=HX
    )
    assert bogus.status_code == 422 and b'id="outcome-outcome-error"' in bogus.data
    agency = client.post(
        f"/admin/collections/{task.id}/close", data={"outcome": "sent_to_agency"}, headers=HX
    )
    assert agency.status_code == 422 and b"Only a charged-off loan" in agency.data
    db.session.refresh(task)
    assert task.state is TaskState.OPEN
    assert db.session.scalars(select(CollectionNote)).all() == []


def test_only_admins_reach_the_queue(client, login, late):
    _, notes, task, _ = late
    login(UserFactory(role=Role.LENDER))
    assert client.get("/admin/collections").status_code == 403
    assert client.get(f"/admin/collections/{task.id}").status_code == 403
    posted = client.post(f"/admin/collections/{task.id}/notes", data={"body": "x"}, headers=HX)
    assert posted.status_code == 403
    client.get("/logout")
    login(UserFactory(role=Role.ADMIN))
    assert client.get("/admin/collections/999999").status_code == 404
    assert client.post("/admin/collections/999999/notes", data={"body": "x"}).status_code == 404


def test_noteholders_see_the_steps_and_nothing_personal(client, login, late):
    loan, notes, task, today = late
    admin = login(UserFactory(role=Role.ADMIN))
    client.post(f"/admin/collections/{task.id}/notes", data={"body": SECRET_NOTE})
    promise = {"pay_by": (today + timedelta(days=3)).isoformat(), "amount": "50.00"}
    assert client.post(f"/admin/collections/{task.id}/promises", data=promise).status_code == 303
    client.post(f"/admin/collections/{task.id}/assign", data={"assignee_id": admin.id})
    client.get("/logout")
    login(notes[0].lender)
    page = client.get(f"/lender/loans/{loan.id}").get_data(as_text=True)
    for shown in (
        "Collection activity",
        "Day 1 notice sent",
        "Day 7 notice sent",
        "Day 15 notice sent",
    ):
        assert shown in page
    assert "Promise to pay recorded" in page
    borrower = loan.borrower
    for secret in (
        SECRET_NOTE,
        borrower.email,
        borrower.first_name,
        borrower.last_name,
        borrower.phone,
        admin.email,
    ):
        assert secret not in page


def test_noteholders_see_what_the_agency_took_from_their_recoveries(client, login):
    from app.services.collections import agency
    from app.services.servicing import repayments, servicing
    from tests.builders import D, key

    today = date.today()
    loan, notes = issued_loan(["2000", "3000", "5000"], issued_on=today - timedelta(days=60))
    servicing.charge_off(db.session, loan.id, today - timedelta(days=5), reason="bankruptcy")
    agency.send(db.session, loan.id, loan.borrower_id, today - timedelta(days=4))
    repayments.apply_payment(
        db.session, loan.id, D("1234.57"), received_on=today, idempotency_key=key()
    )
    login(notes[0].lender)
    page = client.get(f"/lender/loans/{loan.id}").get_data(as_text=True)
    assert "Sent to a collection agency" in page
    for figure in ("$246.91", "$49.38", "$1.98", "$195.55"):  # G20's first note
        assert figure in page
