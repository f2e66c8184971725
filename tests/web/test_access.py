"""Role checks on every area, and ownership checks on every object."""

import pytest

from app.models import Role
from tests.factories import LoanFactory, UserFactory

AREA_HOMES = {"/borrower/": Role.BORROWER, "/lender/": Role.LENDER, "/admin/": Role.ADMIN}


@pytest.mark.parametrize("url", sorted(AREA_HOMES))
@pytest.mark.parametrize("role", list(Role))
def test_each_area_admits_only_its_role(client, login, url, role):
    login(UserFactory(role=role))
    expected = 200 if AREA_HOMES[url] is role else 403
    assert client.get(url).status_code == expected


@pytest.mark.parametrize("url", sorted(AREA_HOMES))
def test_anonymous_users_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_borrower_sees_own_loan(client, login):
    loan = LoanFactory()
    login(loan.borrower)
    response = client.get(f"/borrower/loans/{loan.id}")
    assert response.status_code == 200
    assert f"Loan #{loan.id}".encode() in response.data


def test_another_borrower_gets_404_not_the_loan(client, login):
    loan = LoanFactory()
    login(UserFactory(role=Role.BORROWER))
    response = client.get(f"/borrower/loans/{loan.id}")
    assert response.status_code == 404
    assert b"isn't yours to see" in response.data
    assert str(loan.amount).encode() not in response.data


def test_missing_loan_is_the_same_404(client, login):
    login(UserFactory(role=Role.BORROWER))
    assert client.get("/borrower/loans/999999").status_code == 404


def test_admin_may_open_any_loan(client, login):
    loan = LoanFactory()
    login(UserFactory(role=Role.ADMIN))
    assert client.get(f"/borrower/loans/{loan.id}").status_code == 200


def test_lender_cannot_open_a_borrower_loan_page(client, login):
    loan = LoanFactory()
    login(UserFactory(role=Role.LENDER))
    assert client.get(f"/borrower/loans/{loan.id}").status_code == 403


def test_home_sends_each_role_to_its_dashboard(client, login):
    login(UserFactory(role=Role.LENDER))
    assert client.get("/").headers["Location"] == "/lender/"


def test_home_page_for_visitors_offers_sign_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sign in" in response.data and b"Open an account" in response.data
