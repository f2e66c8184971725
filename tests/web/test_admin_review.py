"""Admin queues: approving (two admins for large loans), declining, documents, people."""

import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Document, LoanStatus, Notification, Role, VerificationStatus
from app.services.lending import origination
from tests.builders import CREDIT_FACTS
from tests.factories import UserFactory
from tests.helpers import PASSWORD

D = Decimal
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ADMIN_URLS = ["/admin/", "/admin/applications", "/admin/documents", "/admin/users", "/admin/risk"]


def _pending(amount="9000.00"):
    from app.models import LoanPurpose
    from app.services.lending.origination import Offer
    from tests.factories import CompleteUserFactory

    borrower = CompleteUserFactory(role=Role.BORROWER)
    loan = origination.create_application(
        db.session,
        borrower.id,
        amount=D(amount),
        term_months=36,
        purpose=LoanPurpose.HOME_IMPROVEMENT,
        credit_facts=dict(CREDIT_FACTS),
    )
    origination.make_offer(db.session, loan, Offer("B2", D("11.25"), D("3"), ["test"]))
    origination.accept_offer(db.session, loan)
    return loan


@pytest.mark.parametrize("url", ADMIN_URLS)
@pytest.mark.parametrize("role", [Role.BORROWER, Role.LENDER])
def test_admin_pages_refuse_other_roles(client, login, url, role):
    login(UserFactory(role=role))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_admin_pages_send_visitors_to_sign_in(client, url):
    assert client.get(url).status_code == 302


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_admin_pages_render_for_admins(client, login, url):
    login(UserFactory(role=Role.ADMIN))
    assert client.get(url).status_code == 200


def test_approving_lists_the_loan_with_a_deadline_and_tells_the_borrower(client, login):
    loan = _pending()
    login(UserFactory(role=Role.ADMIN))
    assert b"#%d" % loan.id in client.get("/admin/applications").data
    assert client.get(f"/admin/applications/{loan.id}").status_code == 200
    assert client.post(f"/admin/applications/{loan.id}/approve").status_code == 303
    assert loan.status is LoanStatus.LISTED and loan.funding_deadline is not None
    assert db.session.scalars(
        select(Notification.kind).where(
            Notification.user_id == loan.borrower_id, Notification.kind == "loan.listed"
        )
    ).one()


def test_a_large_loan_needs_two_different_admins(app, client, login):
    loan = _pending("30000.00")
    first, second = UserFactory(role=Role.ADMIN), UserFactory(role=Role.ADMIN)
    login(first)
    client.post(f"/admin/applications/{loan.id}/approve")
    assert loan.status is LoanStatus.PENDING_APPROVAL
    client.post(f"/admin/applications/{loan.id}/approve")  # the same admin again
    assert loan.status is LoanStatus.PENDING_APPROVAL
    client.post("/logout")
    login(second)
    client.post(f"/admin/applications/{loan.id}/approve")
    assert loan.status is LoanStatus.LISTED


def test_declining_needs_reasons_the_borrower_sees(client, login):
    loan = _pending()
    login(UserFactory(role=Role.ADMIN))
    client.post(f"/admin/applications/{loan.id}/decline", data={"reason": ""})
    assert loan.status is LoanStatus.PENDING_APPROVAL
    client.post(
        f"/admin/applications/{loan.id}/decline",
        data={"reason": "Income could not be verified\nAddress does not match"},
    )
    assert loan.status is LoanStatus.DECLINED
    assert loan.decision_reasons == ["Income could not be verified", "Address does not match"]


def test_document_review_and_identity_verification(client, login):
    owner = UserFactory(role=Role.BORROWER)
    login(owner)
    client.post(
        "/account/documents",
        data={"kind": "identity", "file": (io.BytesIO(PDF), "id.pdf")},
        content_type="multipart/form-data",
    )
    document = db.session.scalars(select(Document)).one()
    client.post("/logout")
    login(UserFactory(role=Role.ADMIN))
    assert b"id.pdf" in client.get("/admin/documents").data
    client.post(f"/admin/users/{owner.id}/verify")
    assert owner.identity_status is VerificationStatus.UNVERIFIED  # no verified document yet
    client.post(f"/admin/documents/{document.id}/review", data={"decision": "reject", "reason": ""})
    assert document.status is VerificationStatus.PENDING  # a rejection needs its reason
    client.post(f"/admin/documents/{document.id}/review", data={"decision": "verify"})
    assert document.status is VerificationStatus.VERIFIED
    client.post(f"/admin/users/{owner.id}/verify")
    assert owner.identity_status is VerificationStatus.VERIFIED
    kinds = set(
        db.session.scalars(select(Notification.kind).where(Notification.user_id == owner.id))
    )
    assert {"document.verified", "identity.verified"} <= kinds


def test_suspension_ends_sessions_and_blocks_sign_in(app, client, login):
    person = UserFactory(role=Role.LENDER)
    their_browser = app.test_client()
    their_browser.post("/login", data={"email": person.email, "password": PASSWORD})
    assert their_browser.get("/lender/").status_code == 200
    login(UserFactory(role=Role.ADMIN))
    client.post(f"/admin/users/{person.id}/suspend", data={"reason": ""})
    assert person.is_active
    client.post(f"/admin/users/{person.id}/suspend", data={"reason": "Suspected fraud"})
    assert not person.is_active
    assert their_browser.get("/lender/").status_code == 302
    assert (
        their_browser.post("/login", data={"email": person.email, "password": PASSWORD}).status_code
        == 422
    )
    client.post(f"/admin/users/{person.id}/reactivate")
    assert person.is_active


def test_user_search_and_role_change(client, login):
    person = UserFactory(role=Role.BORROWER, first_name="Zelda", email="zelda@example.com")
    admin = login(UserFactory(role=Role.ADMIN))
    results = client.get("/admin/users?q=zeld", headers={"HX-Request": "true"})
    assert b"zelda@example.com" in results.data and b"<html" not in results.data
    client.post(f"/admin/users/{person.id}/role", data={"role": "lender"})
    assert person.role is Role.LENDER
    client.post(f"/admin/users/{admin.id}/role", data={"role": "borrower"})  # the only admin
    assert admin.role is Role.ADMIN
