"""Admin queues: approving (two admins for large loans), declining, documents, people."""

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    ActivityLog,
    Document,
    LoanApproval,
    LoanStatus,
    Notification,
    Role,
    User,
    VerificationStatus,
)
from app.services.lending import origination
from tests.builders import CREDIT_FACTS, verified_borrower
from tests.factories import CompleteUserFactory, UserFactory
from tests.helpers import HX, PASSWORD, YES

D = Decimal
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ADMIN_URLS = [
    "/admin/",
    "/admin/applications",
    "/admin/documents",
    "/admin/payouts",
    "/admin/users",
    "/admin/loans",
    "/admin/risk",
]


def _pending(amount="9000.00", borrower=None):
    from app.models import LoanPurpose
    from app.services.lending.origination import Offer

    borrower = borrower or verified_borrower()
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
    assert client.post(f"/admin/applications/{loan.id}/approve", data=YES).status_code == 303
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
    client.post(f"/admin/applications/{loan.id}/approve", data=YES)
    assert loan.status is LoanStatus.PENDING_APPROVAL
    client.post(f"/admin/applications/{loan.id}/approve", data=YES)  # the same admin again
    assert loan.status is LoanStatus.PENDING_APPROVAL
    client.post("/logout")
    login(second)
    client.post(f"/admin/applications/{loan.id}/approve", data=YES)
    assert loan.status is LoanStatus.LISTED


def test_declining_needs_reasons_the_borrower_sees(client, login):
    loan = _pending()
    login(UserFactory(role=Role.ADMIN))
    client.post(f"/admin/applications/{loan.id}/decline", data={"reason": ""})
    assert loan.status is LoanStatus.PENDING_APPROVAL
    client.post(
        f"/admin/applications/{loan.id}/decline",
        data={"reason": "Income could not be verified\nAddress does not match", **YES},
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
    # Asked first: the suspension is rehearsed in a savepoint and undone, nothing happens yet.
    asked = client.post(f"/admin/users/{person.id}/suspend", data={"reason": "Suspected fraud"})
    assert asked.status_code == 200 and b"They are signed out everywhere now" in asked.data
    assert person.is_active and their_browser.get("/lender/").status_code == 200
    assert _actions("user.suspended") == []
    client.post(f"/admin/users/{person.id}/suspend", data={"reason": "Suspected fraud", **YES})
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


def _upload(client, login, owner, name="id.pdf") -> Document:
    login(owner)
    client.post(
        "/account/documents",
        data={"kind": "identity", "file": (io.BytesIO(PDF), name)},
        content_type="multipart/form-data",
    )
    client.post("/logout")
    return db.session.scalars(select(Document).where(Document.original_filename == name)).one()


def _actions(prefix: str) -> list[str]:
    return list(
        db.session.scalars(select(ActivityLog.action).where(ActivityLog.action.startswith(prefix)))
    )


@pytest.mark.parametrize("htmx", [False, True])
def test_rejecting_a_document_without_a_reason_is_422_and_changes_nothing(client, login, htmx):
    document = _upload(client, login, UserFactory(role=Role.BORROWER))
    login(UserFactory(role=Role.ADMIN))
    response = client.post(
        f"/admin/documents/{document.id}/review",
        data={"decision": "reject", "reason": " "},
        headers=HX if htmx else {},
    )
    assert response.status_code == 422
    assert b"Say why the document is rejected." in response.data
    assert b'id="document-rows"' in response.data
    assert (b"<html" in response.data) is not htmx
    assert f'id="document-{document.id}-reason-error"'.encode() in response.data
    assert document.status is VerificationStatus.PENDING
    assert _actions("document.") == ["document.uploaded"]


def test_a_review_from_the_application_page_answers_on_that_page(client, login):
    loan = _pending()
    borrower = db.session.get(User, loan.borrower_id)
    document = _upload(client, login, borrower)
    login(UserFactory(role=Role.ADMIN))
    url = f"/admin/documents/{document.id}/review"
    refused = client.post(url, data={"decision": "reject", "loan_id": loan.id}, headers=HX)
    assert refused.status_code == 422 and b'id="document-reviews"' in refused.data
    assert b"Say why the document is rejected." in refused.data
    done = client.post(url, data={"decision": "verify", "loan_id": loan.id}, headers=HX)
    assert done.status_code == 204
    assert done.headers["HX-Redirect"] == f"/admin/applications/{loan.id}"
    assert document.status is VerificationStatus.VERIFIED


@pytest.mark.parametrize("loan_id", ["999999", "9" * 30, "abc"])
def test_a_review_never_goes_back_to_a_page_that_is_not_the_owners(client, login, loan_id):
    document = _upload(client, login, UserFactory(role=Role.BORROWER))
    login(UserFactory(role=Role.ADMIN))
    response = client.post(
        f"/admin/documents/{document.id}/review",
        data={"decision": "reject", "loan_id": loan_id},
        headers=HX,
    )
    assert response.status_code == 422 and b'id="document-rows"' in response.data


@pytest.mark.parametrize("decision", ["", "approve", "delete"])
def test_a_review_needs_verify_or_reject(client, login, decision):
    document = _upload(client, login, UserFactory(role=Role.BORROWER))
    login(UserFactory(role=Role.ADMIN))
    response = client.post(
        f"/admin/documents/{document.id}/review", data={"decision": decision, "reason": "x"}
    )
    assert response.status_code == 422 and b"Choose verify or reject." in response.data
    assert document.status is VerificationStatus.PENDING


def test_reviewing_a_missing_document_is_404(client, login):
    login(UserFactory(role=Role.ADMIN))
    response = client.post("/admin/documents/999999/review", data={"decision": "verify"})
    assert response.status_code == 404


@pytest.mark.parametrize("htmx", [False, True])
def test_declining_without_reasons_is_422_with_the_message(client, login, htmx):
    loan = _pending()
    login(UserFactory(role=Role.ADMIN))
    response = client.post(
        f"/admin/applications/{loan.id}/decline",
        data={"reason": " \n "},
        headers=HX if htmx else {},
    )
    assert response.status_code == 422
    assert b"Give the principal reasons for the decline." in response.data
    assert b'id="decision-forms"' in response.data
    assert (b"<html" in response.data) is not htmx
    assert loan.status is LoanStatus.PENDING_APPROVAL
    assert db.session.scalar(select(func.count()).select_from(LoanApproval)) == 0


def test_approving_twice_as_the_same_admin_is_422_with_the_reason(client, login):
    loan = _pending("30000.00")
    login(UserFactory(role=Role.ADMIN))
    first = client.post(f"/admin/applications/{loan.id}/approve", data=YES, headers=HX)
    assert first.status_code == 204 and first.headers["HX-Redirect"] == "/admin/applications"
    again = client.post(f"/admin/applications/{loan.id}/approve", data=YES, headers=HX)
    assert again.status_code == 422 and b"already decided" in again.data
    assert b"<html" not in again.data
    assert db.session.scalar(select(func.count()).select_from(LoanApproval)) == 1


def test_deciding_on_a_missing_application_is_404(client, login):
    login(UserFactory(role=Role.ADMIN))
    assert client.post("/admin/applications/999999/approve", data=YES).status_code == 404
    assert (
        client.post("/admin/applications/999999/decline", data={"reason": "x"}).status_code == 404
    )


@pytest.mark.parametrize("htmx", [False, True])
def test_suspending_without_a_reason_is_422_and_changes_nothing(client, login, htmx):
    person = UserFactory(role=Role.LENDER)
    login(UserFactory(role=Role.ADMIN))
    response = client.post(
        f"/admin/users/{person.id}/suspend", data={"reason": ""}, headers=HX if htmx else {}
    )
    assert response.status_code == 422
    assert b"Say why the account is suspended." in response.data
    assert b'id="user-actions"' in response.data
    assert (b"<html" in response.data) is not htmx
    assert person.is_active and _actions("user.") == []


@pytest.mark.parametrize("role", ["superuser", "", "ADMIN"])
def test_a_role_that_does_not_exist_is_422_and_changes_nothing(client, login, role):
    person = UserFactory(role=Role.BORROWER)
    login(UserFactory(role=Role.ADMIN))
    response = client.post(f"/admin/users/{person.id}/role", data={"role": role}, headers=HX)
    assert response.status_code == 422
    assert b"Choose borrower, lender or admin." in response.data
    assert person.role is Role.BORROWER and _actions("user.") == []


def test_business_refusals_on_people_are_422_with_the_message(client, login):
    person = UserFactory(role=Role.BORROWER)
    admin = login(UserFactory(role=Role.ADMIN))
    cases = [
        (f"/admin/users/{person.id}/verify", {}, b"Verify one of their identity documents first."),
        # Refused before any confirmation step (the suspension is rehearsed and undone).
        (f"/admin/users/{admin.id}/suspend", {"reason": "Test"}, b"You cannot suspend yourself."),
        (f"/admin/users/{admin.id}/role", {"role": "lender"}, b"at least one active admin"),
    ]
    for url, data, message in cases:
        response = client.post(url, data=data, headers=HX)
        assert response.status_code == 422, url
        assert message in response.data and b"<html" not in response.data
    assert admin.role is Role.ADMIN and admin.is_active and _actions("user.") == []


@pytest.mark.parametrize("action", ["delete", "promote", "user_update"])
def test_unknown_user_actions_are_404(client, login, action):
    person = UserFactory(role=Role.BORROWER)
    login(UserFactory(role=Role.ADMIN))
    assert client.post(f"/admin/users/{person.id}/{action}").status_code == 404


def test_acting_on_a_missing_person_is_404(client, login):
    login(UserFactory(role=Role.ADMIN))
    assert client.post("/admin/users/999999/suspend", data={"reason": "x"}).status_code == 404


def _nav_link(body: str, link_id: str) -> str:
    match = re.search(rf'<a [^>]*id="{link_id}"[^>]*>(.*?)</a>', body, re.S)
    assert match, link_id
    return re.sub(r"<[^>]+>", "", match.group(1))  # the text a screen reader reads


def test_the_top_bar_shows_admins_the_review_queues_with_their_counts(client, login):
    _pending()
    _pending()
    _upload(client, login, UserFactory(role=Role.BORROWER))
    login(UserFactory(role=Role.ADMIN))
    for url in ("/admin/", "/admin/risk", "/account/profile"):
        body = client.get(url).get_data(as_text=True)
        assert _nav_link(body, "nav-applications") == "Applications 2 waiting for approval"
        assert _nav_link(body, "nav-documents") == "Documents 1 waiting for review"
    fragment = client.get("/admin/users?q=x", headers=HX).get_data(as_text=True)
    assert "nav-applications" not in fragment
    nav = body[body.index('<nav aria-label="Main">') : body.index("</nav>")]
    links = re.findall(r'href="(/admin/[^"]*)"', nav)
    assert links == [
        "/admin/",
        "/admin/applications",
        "/admin/documents",
        "/admin/payouts",
        "/admin/reviews",
        "/admin/users",
        "/admin/loans",
        "/admin/hardship",
        "/admin/collections",
        "/admin/imports",
        "/admin/activity",
        "/admin/jobs",
        "/admin/risk",
    ]  # issue 16 defect 8: every admin room one click away; no personal upload page
    assert "/account/documents" not in nav


def test_the_queue_counts_fall_as_work_is_done(client, login):
    loan = _pending()
    login(UserFactory(role=Role.ADMIN))
    body = client.get("/admin/").get_data(as_text=True)
    assert _nav_link(body, "nav-applications").startswith("Applications 1 ")
    client.post(f"/admin/applications/{loan.id}/approve", data=YES)
    body = client.get("/admin/").get_data(as_text=True)
    assert _nav_link(body, "nav-applications").startswith("Applications 0 ")
    assert _nav_link(body, "nav-documents") == "Documents 0 waiting for review"


@pytest.mark.parametrize("role", [Role.BORROWER, Role.LENDER])
def test_other_roles_never_see_the_review_queues(client, login, role):
    _pending()
    login(UserFactory(role=role))
    body = client.get("/account/profile").get_data(as_text=True)
    assert "nav-applications" not in body and "waiting for approval" not in body


def test_the_review_queue_counts_come_from_one_report(client, login):
    from app.models import Provider
    from app.services.money import cash
    from app.services.platform import reports
    from tests.builders import D, key, lender

    nothing = {"applications": 0, "documents": 0, "payouts": 0, "reviews": 0}
    assert reports.review_queues(db.session) == nothing
    _pending()
    _upload(client, login, UserFactory(role=Role.BORROWER))
    investor = lender(D("100.00"))
    cash.withdraw(
        db.session, investor.id, D("40.00"), provider=Provider.MANUAL, idempotency_key=key()
    )
    waiting = {"applications": 1, "documents": 1, "payouts": 1, "reviews": 0}
    assert reports.review_queues(db.session) == waiting


def test_an_unverified_borrower_is_listed_only_with_a_reason_and_two_admins(client, login):
    borrower = CompleteUserFactory(role=Role.BORROWER)
    loan = _pending(borrower=borrower)
    first, second = UserFactory(role=Role.ADMIN), UserFactory(role=Role.ADMIN)
    login(first)
    page = client.get(f"/admin/applications/{loan.id}").get_data(as_text=True)
    assert "Not verified yet: identity and income." in page
    assert "Reason to approve before verification" in page
    # No reason to override: refused at once, before any confirmation step (a rehearsal).
    refused = client.post(f"/admin/applications/{loan.id}/approve", headers=HX)
    assert refused.status_code == 422 and "HX-Retarget" not in refused.headers
    assert b"identity and income are not verified yet" in refused.data
    assert b'id="approve-override_reason-error"' in refused.data
    assert db.session.scalar(select(func.count()).select_from(LoanApproval)) == 0

    borrower.identity_verified_at = datetime.now(UTC)  # half-way: income still unverified
    refused = client.post(f"/admin/applications/{loan.id}/approve", data=YES, headers=HX)
    assert b"income is not verified yet" in refused.data

    override = {"override_reason": "Payslips came by post; checked by phone", **YES}
    step = client.post(
        f"/admin/applications/{loan.id}/approve", data={"override_reason": "x"}, headers=HX
    )
    assert b"not verified: income" in step.data and b"first of two approvals" in step.data
    waiting = client.post(f"/admin/applications/{loan.id}/approve", data=override, headers=HX)
    assert waiting.status_code == 204 and loan.status is LoanStatus.PENDING_APPROVAL
    client.post("/logout")
    login(second)
    client.post(f"/admin/applications/{loan.id}/approve", data=override, headers=HX)
    assert loan.status is LoanStatus.LISTED
    logged = db.session.scalars(
        select(ActivityLog).where(ActivityLog.action == "loan.verification_overridden")
    ).all()
    assert [(entry.user_id, entry.details["missing"]) for entry in logged] == [
        (first.id, ["income"]),
        (second.id, ["income"]),
    ]
    assert logged[0].details["reason"] == "Payslips came by post; checked by phone"
