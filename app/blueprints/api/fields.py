"""Field types of the API: camelCase names, money and percentages as exact decimal strings.

Money travels as a string with two decimals ("1500.00"): JSON numbers are binary floats, and an
amount must survive the round trip to the cent.
"""

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, missing, pre_load, validate

MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
PERCENT_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,3})?$"
# Returns can be losses, and annualised returns carry more decimals.
SIGNED_MONEY_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
SIGNED_PERCENT_PATTERN = r"^-?[0-9]{1,6}(\.[0-9]{1,4})?$"


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


class CamelSchema(Schema):
    """Python names inside, camelCase outside; text with NUL bytes refused (PostgreSQL can't store it)."""

    def on_bind_field(self, field_name, field_obj):
        field_obj.data_key = camel(field_obj.data_key or field_name)

    @pre_load
    def refuse_nul(self, data, **kwargs):
        if isinstance(data, dict):
            bad = {
                k: ["Text cannot contain NUL characters."]
                for k, v in data.items()
                if isinstance(v, str) and "\x00" in v
            }
            if bad:
                raise ValidationError(bad)
        return data


class DecimalText(fields.String):
    """A decimal written as text, checked by pattern, loaded as Decimal."""

    def __init__(self, pattern: str = MONEY_PATTERN, low=None, high=None, places=None, **kwargs):
        self.low, self.high, self.places = low, high, places
        super().__init__(
            validate=validate.Regexp(
                pattern, error="Use digits with a decimal point, like 1500.00."
            ),
            **kwargs,
        )

    def deserialize(self, value, attr=None, data=None, **kwargs):
        text = super().deserialize(value, attr, data, **kwargs)
        if text is None or text is missing:
            return text
        number = Decimal(text)
        if self.low is not None and number < self.low:
            raise ValidationError(f"Must be at least {self.low}.")
        if self.high is not None and number > self.high:
            raise ValidationError(f"Must be at most {self.high}.")
        return number

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{Decimal(value):.{self.places}f}" if self.places is not None else str(value)


def Money(metadata: dict | None = None, **kwargs):  # noqa: N802 - reads as a field type
    return DecimalText(
        MONEY_PATTERN, places=2, metadata={"example": "1500.00", **(metadata or {})}, **kwargs
    )


def SignedMoney(metadata: dict | None = None, **kwargs):  # noqa: N802
    return DecimalText(
        SIGNED_MONEY_PATTERN, places=2, metadata={"example": "-12.50", **(metadata or {})}, **kwargs
    )


def SignedPercent(metadata: dict | None = None, **kwargs):  # noqa: N802
    return DecimalText(
        SIGNED_PERCENT_PATTERN, metadata={"example": "-3.2500", **(metadata or {})}, **kwargs
    )


def Percent(metadata: dict | None = None, **kwargs):  # noqa: N802
    return DecimalText(
        PERCENT_PATTERN, metadata={"example": "11.250", **(metadata or {})}, **kwargs
    )


def choice(values, **kwargs) -> fields.String:
    return fields.String(
        validate=validate.OneOf([v.value if hasattr(v, "value") else v for v in values]), **kwargs
    )
