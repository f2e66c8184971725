"""Hostile input gets an answer, never a 500: money that is not an amount, NUL bytes in text,
page numbers that are not whole ASCII numbers, filters that make no sense (issue 15, hole 4)."""

import io
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    CashTransfer,
    Investment,
    JournalEntry,
    Loan,
    Payment,
    Role,
    User,
)
from app.services.money import cash
from tests.builders import assert_ledger_balances, issued_loan, lender, listed_loan
from tests.factories import CompleteUserFactory, UserFactory
from tests.helpers import HX, PASSWORD

D = Decimal
NOT_AMOUNTS = ["NaN", "sNaN", "Infinity", "-Infinity", "1e100", "1E2", "inf", "0x10", "١٠"]
AMOUNT_MESSAGE = b"Enter an amount in dollars and cents"
NUL_MESSAGE = b"cannot contain NUL characters"
BAD_PAGES = ["\u00b2", "\u0663", "abc", "-1", "0", "9" * 40, "9" * 5000, "1e3", "1.5", "", "%00"]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _money_rows() -> tuple[int, ...]:
    return tuple(_count(m) for m in (JournalEntry, CashTransfer, Payment, Investment))


def _refused(response, message: bytes = AMOUNT_MESSAGE) -> None:
    assert response.status_code == 422, response.data[:300]
    assert b"<html" not in response.data  # the form's fragment, for htmx to swap in
    assert message in response.data


@pytest.fixture()
def investor(login):
    return login(lender(D("1000")))


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
@pytest.mark.parametrize("url", ["/lender/deposits", "/lender/withdrawals"])
def test_cash_forms_refuse_what_is_not_an_amount(client, investor, url, amount):
    before = _money_rows()
    response = client.post(url, data={"amount": amount, "idempotency_key": "k1"}, headers=HX)
    _refused(response)
    assert _money_rows() == before
    assert cash.available_cash(db.session, investor.id) == D("1000.00")


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
def test_investing_refuses_what_is_not_an_amount(client, investor, amount):
    loan = listed_loan()
    before = _money_rows()
    response = client.post(
        f"/lender/loans/{loan.id}/investments",
        data={"amount": amount, "idempotency_key": str(uuid.uuid4())},
        headers=HX,
    )
    _refused(response)
    assert _money_rows() == before
    assert db.session.get(Loan, loan.id).funded_amount == D("0.00")


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
def test_paying_refuses_what_is_not_an_amount(client, login, amount):
    loan, _ = issued_loan(["10000"])
    login(loan.borrower)
    before = _money_rows()
    response = client.post(
        f"/borrower/loans/{loan.id}/payments",
        data={"choice": "other", "amount": amount, "idempotency_key": str(uuid.uuid4())},
        headers=HX,
    )
    _refused(response)
    assert _money_rows() == before
    assert_ledger_balances()


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
def test_profile_income_refuses_what_is_not_an_amount(client, login, amount):
    user = login(CompleteUserFactory())
    data = {"first_name": "Maya", "last_name": "Okafor", "annual_income": amount}
    _refused(client.post("/account/profile", data=data, headers=HX))
    db.session.expire_all()
    assert db.session.get(User, user.id).first_name == user.first_name
    assert db.session.get(User, user.id).annual_income == D("72000.00")


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
def test_the_amount_preview_and_its_inline_check_refuse_what_is_not_an_amount(
    client, login, amount
):
    login(CompleteUserFactory())
    inline = client.post(
        "/borrower/applications/fields/amount", data={"amount": amount}, headers=HX
    )
    _refused(inline)
    preview = client.post(
        "/borrower/applications/preview",
        data={"amount": amount, "term_months": "36"},
        headers=HX,
    )
    assert preview.status_code == 200 and b"<html" not in preview.data
    applied = client.post(
        "/borrower/applications", data={"amount": amount, "term_months": "36"}, headers=HX
    )
    assert applied.status_code == 422 and AMOUNT_MESSAGE in applied.data
    assert _count(Loan) == 0


@pytest.mark.parametrize("amount", ["999999999.99", "1000000000.01", "99999999999999"])
def test_huge_plain_amounts_are_refused_by_the_rules_not_the_database(client, investor, amount):
    loan = listed_loan()
    issued, _ = issued_loan(["10000"])
    before = _money_rows()
    invest = client.post(
        f"/lender/loans/{loan.id}/investments",
        data={"amount": amount, "idempotency_key": str(uuid.uuid4())},
        headers=HX,
    )
    assert invest.status_code == 422 and b'class="error"' in invest.data
    client.post("/logout")
    client.post("/login", data={"email": issued.borrower.email, "password": PASSWORD})
    pay = client.post(
        f"/borrower/loans/{issued.id}/payments",
        data={"choice": "other", "amount": amount, "idempotency_key": str(uuid.uuid4())},
        headers=HX,
    )
    assert pay.status_code == 422 and b'class="error"' in pay.data
    assert _money_rows() == before


@pytest.mark.parametrize("amount", ["-5", "0", "1000000000", "0.01"])
def test_the_preview_takes_any_readable_amount_without_failing(client, login, amount):
    login(CompleteUserFactory())
    preview = client.post(
        "/borrower/applications/preview",
        data={"amount": amount, "term_months": "36"},
        headers=HX,
    )
    assert preview.status_code == 200


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "1e100", "\u0664\u0662"])
def test_credit_utilisation_refuses_what_is_not_a_percentage(client, login, value):
    login(CompleteUserFactory())
    response = client.post(
        "/borrower/applications/fields/revolving_utilization",
        data={"revolving_utilization": value},
        headers=HX,
    )
    _refused(response, b"Enter a percentage")


@pytest.mark.parametrize(
    ("amount", "expected"), [("12.5", D("12.50")), ("1500.00", D("1500.00")), (" 7 ", D("7"))]
)
def test_plain_dollars_and_cents_are_still_taken(client, investor, amount, expected):
    response = client.post(
        "/lender/deposits", data={"amount": amount, "idempotency_key": "k2"}, headers=HX
    )
    assert response.status_code == 204
    assert cash.available_cash(db.session, investor.id) == D("1000.00") + expected


@pytest.mark.parametrize("field", ["first_name", "last_name", "city", "phone", "postal_code"])
def test_profile_text_with_a_nul_byte_is_refused(client, login, field):
    user = login(CompleteUserFactory())
    data = {"first_name": "Maya", "last_name": "Okafor", "phone": "+1 555 0142"}
    data[field] = "Spring\x00field"
    _refused(client.post("/account/profile", data=data, headers=HX), NUL_MESSAGE)
    db.session.expire_all()
    assert db.session.get(User, user.id).first_name == user.first_name


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_registration_names_with_a_nul_byte_are_refused(client, field):
    data = {
        "role": "lender",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "password": "correct horse battery staple 9",
        "confirm": "correct horse battery staple 9",
        field: "A\x00da",
    }
    _refused(client.post("/register", data=data, headers=HX), NUL_MESSAGE)
    assert db.session.scalar(select(User).where(User.email == "ada@example.com")) is None


@pytest.fixture()
def admin(login):
    return login(UserFactory(role=Role.ADMIN))


def test_admin_search_with_a_nul_byte_is_refused(client, admin):
    response = client.get("/admin/users?q=ad%00min", headers=HX)
    _refused(response, NUL_MESSAGE)
    # htmx shows it where flashes go; the search box and the rows stay as they were.
    assert response.headers["HX-Retarget"] == "#flash"
    page = client.get("/admin/users?q=%00")
    assert page.status_code == 422 and NUL_MESSAGE in page.data


@pytest.mark.parametrize(
    "url",
    [
        "/admin/activity?action=%00",
        "/admin/activity?page=%00",
        "/admin/activity?entity=loan%00",
        "/admin/activity?x%00=1",
    ],
)
def test_a_nul_byte_anywhere_in_a_query_is_refused(client, admin, url):
    _refused(client.get(url, headers=HX), NUL_MESSAGE)


def test_a_file_name_with_a_nul_byte_is_refused(client, login):
    login(CompleteUserFactory())
    upload = (io.BytesIO(b"%PDF-1.4 statement"), "pay\x00slip.pdf")
    response = client.post(
        "/account/documents", data={"kind": "income", "file": upload}, headers=HX
    )
    _refused(response, NUL_MESSAGE)


@pytest.mark.parametrize("page", BAD_PAGES)
def test_a_page_that_is_not_a_page_number_shows_the_first_page(client, login, page):
    loan, _ = issued_loan(["10000"])
    admin = UserFactory(role=Role.ADMIN)
    login(loan.borrower)
    for url in (f"/borrower/loans/{loan.id}", f"/borrower/loans/{loan.id}/payments"):
        for headers in ({}, HX):
            response = client.get(url, query_string={"page": page}, headers=headers)
            assert response.status_code == 200, (url, page)
    client.post("/logout")
    login(lender())
    for query in ({"page": page}, {"term": page}, {"page": page, "min_amount": page}):
        # (an empty parameter is first dropped from the address by a redirect)
        plain = client.get("/lender/loans", query_string=query, follow_redirects=True)
        assert plain.status_code == 200
        assert client.get("/lender/loans", query_string=query, headers=HX).status_code == 200
    client.post("/logout")
    login(admin)
    for query in ({"page": page}, {"user": page}, {"action": page}, {"entity": page}):
        assert client.get("/admin/activity", query_string=query).status_code == 200
        assert client.get("/admin/activity", query_string=query, headers=HX).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"term": "\u00b3"},
        {"min_amount": "NaN", "max_amount": "1e100"},
        {"max_rate": "sNaN", "max_dti": "-Infinity"},
    ],
)
def test_a_marketplace_filter_that_makes_no_sense_is_ignored(client, login, query):
    login(lender())
    listed = listed_loan()
    response = client.get("/lender/loans", query_string=query, headers=HX)
    assert response.status_code == 200
    assert f"/lender/loans/{listed.id}".encode() in response.data


def test_invalid_pages_and_amounts_change_nothing(client, investor):
    before = _money_rows()
    for amount in NOT_AMOUNTS:
        client.post("/lender/deposits", data={"amount": amount, "idempotency_key": "k"})
    assert _money_rows() == before
    assert_ledger_balances()
