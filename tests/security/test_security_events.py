"""Security events reach the activity log with who, from where and with what.

Authorisation failures (403, someone else's object on the web and the API), CSRF rejections,
rate-limit hits, document downloads, admin views of a person, and money actions (a deposit,
an investment) each leave a row naming the user, the address and the agent.
"""

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActivityLog, Document, Role
from app.services.accounts import api_tokens, documents
from tests.builders import listed_loan
from tests.factories import CompleteUserFactory, LoanFactory, UserFactory
from tests.helpers import PASSWORD

AGENT = "probe-agent/1.0"
ADDRESS = "192.0.2.44"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture()
def visitor(app):
    """A browser with its own address and agent on every request."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": ADDRESS, "HTTP_USER_AGENT": AGENT})
    return client


def _signed_in(visitor, user):
    answer = visitor.post("/login", data={"email": user.email, "password": PASSWORD})
    assert answer.status_code == 303
    return user


def _event(action: str) -> ActivityLog:
    return db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == action).order_by(ActivityLog.id.desc())
    ).first()


def _from_the_visitor(row: ActivityLog, user=None) -> None:
    assert row is not None
    assert (row.ip_address, row.user_agent) == (ADDRESS, AGENT)
    if user is not None:
        assert row.user_id == user.id


def test_a_403_is_logged(visitor):
    borrower = _signed_in(visitor, UserFactory(role=Role.BORROWER))
    assert visitor.get("/admin/").status_code == 403
    row = _event("security.forbidden")
    _from_the_visitor(row, borrower)
    assert row.details["path"] == "/admin/"


def test_asking_for_someone_elses_object_is_logged_on_the_web_and_the_api(visitor, app):
    loan = LoanFactory()
    nosy = _signed_in(visitor, UserFactory(role=Role.BORROWER))
    assert visitor.get(f"/borrower/loans/{loan.id}").status_code == 404
    row = _event("security.not_yours")
    _from_the_visitor(row, nosy)
    assert row.details["entity_id"] == loan.id

    other_borrower = UserFactory(role=Role.BORROWER)
    secret, _ = api_tokens.issue(db.session, other_borrower, days=1)
    answer = visitor.get(
        f"/api/v1/payments/history/{loan.id}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 404
    row = _event("security.not_yours")
    _from_the_visitor(row, other_borrower)
    assert row.details == {**row.details, "entity_type": "loans", "entity_id": loan.id}


def test_a_csrf_rejection_is_logged(visitor, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    answer = visitor.post("/login", data={"email": "x@example.com", "password": "whatever"})
    assert answer.status_code == 400
    _from_the_visitor(_event("security.csrf_rejected"))


def test_a_rate_limit_hit_is_logged(visitor, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    answers = [
        visitor.post("/login", data={"email": "y@example.com", "password": "no"}).status_code
        for _ in range(3)
    ]
    assert answers[-1] == 429
    _from_the_visitor(_event("security.rate_limited"))


def test_downloads_and_admin_views_of_a_person_are_logged(visitor, app):
    owner = CompleteUserFactory(role=Role.BORROWER)
    document = Document(
        user_id=owner.id,
        kind="income",
        original_filename="pay.pdf",
        stored_name=f"{uuid.uuid4().hex}.pdf",
        content_type="application/pdf",
        size_bytes=len(PDF),
        sha256="0" * 64,
    )
    db.session.add(document)
    db.session.flush()
    folder = app.config["UPLOAD_FOLDER"]
    Path(folder).mkdir(parents=True, exist_ok=True)
    sealed = app.extensions["key_ring"].seal_bytes(PDF, documents.PURPOSE)
    (Path(folder) / document.stored_name).write_bytes(sealed)
    admin = _signed_in(visitor, UserFactory(role=Role.ADMIN))
    assert visitor.get(f"/admin/users/{owner.id}").status_code == 200
    viewed = _event("admin.viewed_person")
    _from_the_visitor(viewed, admin)
    assert viewed.entity_id == owner.id
    application = LoanFactory(borrower=owner)
    assert visitor.get(f"/admin/applications/{application.id}").status_code == 200
    seen = _event("admin.viewed_application")
    _from_the_visitor(seen, admin)
    assert seen.details["borrower_id"] == owner.id
    assert visitor.get(f"/account/documents/{document.id}/download").status_code == 200
    downloaded = _event("document.downloaded")
    _from_the_visitor(downloaded, admin)
    assert downloaded.details["owner_id"] == owner.id


def test_money_actions_carry_the_address_and_agent(visitor):
    investor = _signed_in(visitor, UserFactory(role=Role.LENDER))
    deposit = visitor.post(
        "/lender/deposits", data={"amount": "500.00", "idempotency_key": uuid.uuid4().hex}
    )
    assert deposit.status_code == 303
    _from_the_visitor(_event("cash.deposited"), investor)
    loan = listed_loan("1000.00")
    invested = visitor.post(
        f"/lender/loans/{loan.id}/investments",
        data={"amount": "50", "idempotency_key": uuid.uuid4().hex},
    )
    assert invested.status_code in (200, 303)
    _from_the_visitor(_event("loan.invested"), investor)
