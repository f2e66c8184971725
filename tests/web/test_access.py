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


def _admin_routes():
    from werkzeug.routing import IntegerConverter

    from app import create_app
    from config import TestConfig

    for rule in create_app(TestConfig).url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        values = {
            name: 1 if isinstance(converter, IntegerConverter) else "payment"
            for name, converter in rule._converters.items()
        }
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


ADMIN_ROUTES = sorted(set(_admin_routes()))


def test_the_matrix_covers_the_admin_area():
    urls = {url for _, url in ADMIN_ROUTES}
    assert {"/admin/", "/admin/imports", "/admin/jobs", "/admin/users", "/admin/activity"} <= urls
    assert len(ADMIN_ROUTES) >= 20


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES)
def test_every_admin_url_sends_anonymous_users_to_sign_in(client, method, url):
    response = client.open(url, method=method)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES)
@pytest.mark.parametrize("role", [Role.BORROWER, Role.LENDER])
def test_every_admin_url_refuses_borrowers_and_lenders(client, login, method, url, role):
    login(UserFactory(role=role))
    assert client.open(url, method=method).status_code == 403


@pytest.mark.parametrize("url", sorted({url for method, url in ADMIN_ROUTES if method == "GET"}))
def test_every_admin_page_opens_for_an_admin(client, login, url):
    login(UserFactory(role=Role.ADMIN))
    assert client.get(url).status_code in (200, 404)  # 404: object 1 does not exist
