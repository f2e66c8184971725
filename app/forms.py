"""Form pieces every blueprint shares: money in whole cents, page numbers, idempotency keys,
and turning a service's DomainError into field messages."""

import uuid
from collections.abc import Mapping
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DecimalField, Field, HiddenField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from app.services.errors import DomainError, ValidationFailed

MAX_PAGE = 1_000_000


class MoneyField(DecimalField):
    """Dollars and cents: NaN and Infinity are refused as input, not passed on as numbers."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError("Enter an amount in dollars and cents.")

    def pre_validate(self, form) -> None:
        typed = bool(self.raw_data and self.raw_data[0].strip())
        if self.process_errors and typed:  # unreadable: one message, not a range check on nothing
            raise StopValidation()


def whole_cents(form, field) -> None:
    """Money is entered to the cent, never finer."""
    if field.data is not None and field.data.as_tuple().exponent < -2:
        raise ValidationError("Use at most two decimal places.")


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
                message=f"Enter an amount from {minimum:,} to {maximum:,}.",
            ),
            whole_cents,
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


def page_number(args: Mapping[str, str], name: str = "page") -> int:
    """The page a query string asks for: a whole number from 1, anything else is page 1."""
    value = args.get(name) or ""
    # isdecimal() alone would pass "²" and other digits int() cannot read.
    whole = value.isascii() and value.isdecimal()
    return min(int(value), MAX_PAGE) if whole and int(value) > 0 else 1


def attach_errors(form: FlaskForm, error: DomainError, field: str | None = None) -> None:
    """Show a service's refusal on the form: on the field it names, else on `field`, else on top."""
    messages = error.errors if isinstance(error, ValidationFailed) else {error.field: error.message}
    for name, message in messages.items():
        target = form._fields.get(name or "") or form._fields.get(field or "")
        if isinstance(target, Field):
            target.errors = [*target.errors, message]
        else:
            form.form_errors.append(message)
