"""The shared form pieces: money input that cannot be NaN, page numbers, service errors on fields."""

from decimal import Decimal

import pytest
from flask_wtf import FlaskForm
from wtforms import StringField

from app.forms import attach_errors, money_field, page_number, whole_number
from app.models import Role
from app.services.errors import DomainError, ValidationFailed
from tests.factories import UserFactory
from tests.helpers import HX


class AmountForm(FlaskForm):
    amount = money_field("Amount", 1, 1000)
    note = StringField("Note")


def _form(app, **data):
    with app.test_request_context(method="POST", data=data):
        form = AmountForm(meta={"csrf": False})
        form.validate()
        return form


@pytest.mark.parametrize(
    "text", ["NaN", "nan", "Infinity", "-Infinity", "sNaN", "inf", "1e100", "1E2", "\u0661"]
)
def test_money_refuses_numbers_that_are_not_amounts(app, text):
    form = _form(app, amount=text)
    assert form.amount.data is None
    assert form.amount.errors == ["Enter an amount in dollars and cents."]  # and no range message


@pytest.mark.parametrize(
    ("text", "error"),
    [("12.345", "two decimal places"), ("0.50", "from $1 to $1,000"), ("", "Enter an amount")],
)
def test_money_refuses_fractions_of_cents_out_of_range_and_blank(app, text, error):
    assert any(error in message for message in _form(app, amount=text).amount.errors)


def test_money_takes_dollars_and_cents(app):
    form = _form(app, amount="12.34")
    assert form.amount.data == Decimal("12.34") and form.amount.errors == []


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ({}, 1),
        ({"page": "3"}, 3),
        ({"page": "abc"}, 1),
        ({"page": "-2"}, 1),
        ({"page": "0"}, 1),
        ({"page": "²"}, 1),
        ({"page": "٣"}, 1),
        ({"page": "1e3"}, 1),
        ({"page": " 2"}, 1),
        ({"page": "0002"}, 2),
        ({"page": "999999"}, 999_999),
        ({"page": "9" * 40}, 1_000_000),
        ({"page": "9" * 5000}, 1_000_000),
    ],
)
def test_page_number(query, page):
    assert page_number(query) == page


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("7", 7),
        ("0", 0),
        ("\u00b3", None),
        ("\u0663", None),
        ("-1", None),
        ("9" * 10, None),
        ("", None),
    ],
)
def test_whole_number_reads_ascii_digits_only(value, number):
    assert whole_number(value) == number


def test_service_errors_land_on_their_fields_or_on_top(app):
    form = _form(app, amount="5")
    attach_errors(form, ValidationFailed({"amount": "Too much.", "elsewhere": "Not a field."}))
    attach_errors(form, DomainError("Closed.", field="note"))
    attach_errors(form, DomainError("No field named."), "amount")
    attach_errors(form, DomainError("Nowhere."))
    assert form.amount.errors[-2:] == ["Too much.", "No field named."]
    assert form.note.errors == ["Closed."]
    assert form.form_errors == ["Not a field.", "Nowhere."]


def test_a_nan_deposit_is_a_422_form_not_a_500(client, login):
    login(UserFactory(role=Role.LENDER))
    response = client.post(
        "/lender/deposits", data={"amount": "NaN", "idempotency_key": "k1"}, headers=HX
    )
    assert response.status_code == 422
    assert b"Enter an amount in dollars and cents." in response.data


def test_a_page_that_is_not_a_number_shows_the_first_page(client, login):
    from tests.builders import issued_loan

    loan, _ = issued_loan(["10000"])
    login(loan.borrower)
    assert client.get(f"/borrower/loans/{loan.id}?page=abc").status_code == 200
