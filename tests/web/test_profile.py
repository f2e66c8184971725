"""The profile page and its HTMX inline edit."""

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.blueprints.auth.forms import ProfileForm
from app.extensions import db
from app.models import ActivityLog, EmploymentStatus, Role
from app.services.accounts.accounts import PROFILE_FIELDS
from tests.factories import UserFactory
from tests.helpers import HX

VALID = {
    "first_name": "Maya",
    "last_name": "Okafor",
    "phone": "+1 555 0142",
    "date_of_birth": "1990-02-14",
    "address_line1": "9 Elm Street",
    "address_line2": "",
    "city": "Austin",
    "state": "TX",
    "postal_code": "73301",
    "annual_income": "85000.50",
    "employment_status": "employed",
}


def test_profile_page_and_each_fragment_render(client, login):
    login(UserFactory())
    page = client.get("/account")
    assert page.status_code == 200
    assert b"<html" in page.data and b'id="profile"' in page.data
    assert b"Your profile is incomplete" in page.data
    details = client.get("/account", headers=HX)
    assert details.status_code == 200 and b"<html" not in details.data
    assert b"Personal details" in details.data
    form = client.get("/account/profile/edit", headers=HX)
    assert form.status_code == 200 and b"<html" not in form.data
    assert b'name="annual_income"' in form.data
    full_form = client.get("/account/profile/edit")
    assert b"<html" in full_form.data and b'name="annual_income"' in full_form.data


def test_inline_edit_saves_and_returns_the_details_fragment(client, login):
    user = login(UserFactory())
    response = client.post("/account/profile", data=VALID, headers=HX)
    assert response.status_code == 200
    assert b"<html" not in response.data
    assert b"Profile saved." in response.data
    # Issue 16 defect 4: the "Welcome... complete your profile" flash must not stay beside it.
    assert b'<div id="flash" class="container" aria-live="polite" hx-swap-oob="true"></div>' in (
        response.data
    )
    assert b"$85,000.50" in response.data
    # The next step for a borrower whose profile is now complete: applying.
    assert user.role is Role.BORROWER and user.profile_complete
    assert b'Next: <a href="/borrower/applications/new">apply for a loan</a>' in response.data
    db.session.refresh(user)
    assert user.annual_income == Decimal("85000.50")
    assert user.date_of_birth == date(1990, 2, 14)
    assert user.employment_status is EmploymentStatus.EMPLOYED
    assert user.address_line2 is None
    assert user.profile_complete
    logged = db.session.scalars(
        select(ActivityLog).where(
            ActivityLog.user_id == user.id, ActivityLog.action == "user.profile_updated"
        )
    ).one()
    assert "annual_income" in logged.details["fields"]


def test_invalid_inline_edit_is_422_with_field_errors_and_changes_nothing(client, login):
    user = login(UserFactory(first_name="Ann"))
    negative = client.post(
        "/account/profile", headers=HX, data={**VALID, "first_name": "Zed", "annual_income": "-5"}
    )
    assert negative.status_code == 422
    assert b"<html" not in negative.data
    assert b"Enter an amount from $0" in negative.data
    underage = client.post(
        "/account/profile",
        headers=HX,
        data={**VALID, "first_name": "Zed", "date_of_birth": "2015-01-01"},
    )
    assert underage.status_code == 422
    assert b"at least 18 years old" in underage.data
    db.session.refresh(user)
    assert user.first_name == "Ann"
    assert user.annual_income is None


def test_income_with_fractions_of_a_cent_is_refused(client, login):
    login(UserFactory())
    response = client.post(
        "/account/profile", data={**VALID, "annual_income": "100.001"}, headers=HX
    )
    assert response.status_code == 422
    assert b"two decimal places" in response.data


def test_plain_form_post_redirects_after_saving(client, login):
    login(UserFactory())
    response = client.post("/account/profile", data=VALID)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"


def test_profile_cannot_change_email_or_role_by_extra_fields(client, login):
    user = login(UserFactory())
    email, role = user.email, user.role
    client.post(
        "/account/profile", data={**VALID, "email": "x@evil.example", "role": "admin"}, headers=HX
    )
    db.session.refresh(user)
    assert (user.email, user.role) == (email, role)


def test_the_form_sends_every_profile_field_and_clearing_employment_means_none(client, login):
    user = login(UserFactory(employment_status=EmploymentStatus.EMPLOYED))
    with client.application.test_request_context(
        "/account/profile", method="POST", data={**VALID, "employment_status": ""}
    ):
        changes = ProfileForm().changes()
    assert tuple(changes) == PROFILE_FIELDS
    assert changes["employment_status"] is None
    client.post("/account/profile", data={**VALID, "employment_status": ""}, headers=HX)
    db.session.refresh(user)
    assert user.employment_status is None
