"""Form and query-string pieces every blueprint shares: money, whole numbers and page numbers,
idempotency keys, NUL-free input, and turning a service's DomainError into field messages."""

import re
import uuid
from collections.abc import Mapping

from flask import abort, current_app, make_response, render_template, request
from flask_wtf import FlaskForm
from werkzeug.exceptions import UnprocessableEntity
from wtforms import DecimalField, Field, HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from app.htmx import is_htmx, to_flash_region
from app.services.errors import DomainError, ValidationFailed
from app.services.money.money import parse_amount

MAX_PAGE = 1_000_000
# ASCII digits only: "²".isdigit() is True yet int() refuses it, and int() reads "٣" as 3.
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
NUL_MESSAGE = "Text cannot contain NUL characters."


class MoneyField(DecimalField):
    """Dollars and cents as typed, read by `parse_amount` (no NaN, Infinity or 1e100)."""

    what = "an amount in dollars and cents"
    input_places: int | None = None  # decimals accepted, if more than the `places` shown

    def process_formdata(self, valuelist) -> None:
        self.data = None
        text = valuelist[0].strip() if valuelist and isinstance(valuelist[0], str) else ""
        if text:
            places = self.input_places or self.places
            self.data = parse_amount(text, places=places, what=self.what)

    def pre_validate(self, form) -> None:
        if self.process_errors:  # unreadable: one message, not a range check on nothing
            raise StopValidation()


class PercentField(MoneyField):
    """A percentage as typed (to the thousandth, as stored), read the same way as money."""

    what = "a percentage"
    input_places = 3


def money_field(label: str, minimum, maximum, *, required: bool = True, **kwargs) -> MoneyField:
    """An amount in dollars and cents within [minimum, maximum] (required unless told)."""
    presence = InputRequired(message="Enter an amount.") if required else Optional()
    return MoneyField(
        label,
        places=2,
        validators=[
            presence,
            NumberRange(
                min=minimum,
                max=maximum,
                message=f"Enter an amount from ${minimum:,} to ${maximum:,}.",
            ),
        ],
        **kwargs,
    )


class IdempotentForm(FlaskForm):
    """A form that moves money: its hidden key makes a resubmission take effect once."""

    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=120)])

    @classmethod
    def fresh(cls, **data):
        """A new, empty form with a key of its own.

        `formdata=None`: during a POST, Flask-WTF would otherwise refill it from the request,
        handing the key just used back to the page (the next submit would replay, not act).
        """
        return cls(formdata=None, idempotency_key=str(uuid.uuid4()), **data)


def whole_number(value: str | None) -> int | None:
    """A query-string number written in ASCII digits (at most nine), else None."""
    return int(value) if value and WHOLE_NUMBER.fullmatch(value) else None


def page_number(args: Mapping[str, str], name: str = "page") -> int:
    """The page a query string asks for: a whole number from 1, anything else is page 1."""
    value = (args.get(name) or "").lstrip("0")
    if value.isascii() and value.isdigit() and len(value) > 9:
        return MAX_PAGE
    return min(whole_number(value) or 1, MAX_PAGE)


def body_limit(config_key: str):
    """Let a view take request bodies up to `config[config_key]`, not MAX_CONTENT_LENGTH."""

    def mark(view):
        view.body_limit = config_key
        return view

    return mark


def apply_body_limit() -> None:
    """Set the view's own body limit before anything (CSRF, the NUL check) reads the form."""
    key = getattr(current_app.view_functions.get(request.endpoint or ""), "body_limit", None)
    if key:
        request.max_content_length = current_app.config[key]


def refuse_nul_input():
    """Refuse a request with a NUL byte in any field, file name or query value (422).

    PostgreSQL text cannot hold NUL, so such input would fail at the database. Checked once
    for every request rather than per field; htmx shows the message in the flash region and
    leaves the form as the user typed it.
    """
    pairs = [*request.args.items(multi=True), *request.form.items(multi=True)]
    pairs += [(name, upload.filename or "") for name, upload in request.files.items(multi=True)]
    if not any("\x00" in name + value for name, value in pairs):
        return None
    if not is_htmx():
        abort(422, description=NUL_MESSAGE)
    body = render_template("errors/fragment.html", error=UnprocessableEntity(NUL_MESSAGE))
    return to_flash_region(make_response(body, 422))


def attach_errors(form: FlaskForm, error: DomainError, field: str | None = None) -> None:
    """Show a service's refusal on the form: on the field it names, else on `field`, else on top."""
    messages = error.errors if isinstance(error, ValidationFailed) else {error.field: error.message}
    for name, message in messages.items():
        target = form._fields.get(name or "") or form._fields.get(field or "")
        if isinstance(target, Field):
            target.errors = [*target.errors, message]
        else:
            form.form_errors.append(message)


class HardshipForm(FlaskForm):
    """A hardship plan's kind and terms: the borrower's request, the admin's (adjusted) offer."""

    kind = SelectField(
        "What would help",
        choices=[
            SelectChoice("holiday", "A payment holiday: skip 1 to 3 payments, added at the end"),
            SelectChoice("reamortisation", "A lower payment over a longer term"),
            SelectChoice("rate_reduction", "A lower rate for some months"),
            SelectChoice("settlement", "Settle the loan for less with one payment"),
        ],
        validators=[DataRequired(message="Choose what would help.")],
    )
    months = IntegerField(
        "Months", validators=[Optional(), NumberRange(min=1, max=12, message="From 1 to 12.")]
    )
    term = IntegerField(
        "New term (months from the next payment)",
        validators=[Optional(), NumberRange(min=1, max=600, message="Enter a term in months.")],
    )
    reduced_rate = PercentField(
        "Reduced rate (%)",
        validators=[Optional(), NumberRange(min=0, max=100, message="From 0 to 100.")],
    )
    amount = MoneyField("Lump sum (USD)", places=2, validators=[Optional()])
    reason = TextAreaField("What has changed", validators=[Optional(), Length(max=2000)])

    def params(self) -> dict:
        """The terms the chosen kind takes, as the service reads them."""
        wanted = {
            "holiday": ("months",),
            "reamortisation": ("term",),
            "rate_reduction": ("reduced_rate", "months"),
            "settlement": ("amount",),
        }[self.kind.data]
        return {name: self[name].data for name in wanted if self[name].data is not None}
