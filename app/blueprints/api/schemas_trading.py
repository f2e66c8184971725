"""The secondary market's API shapes: offers, listings and trades."""

from marshmallow import fields, validate

from app.models import ListingStatus, ServicingStatus
from app.services.trading import book

from .fields import CamelSchema, Money, SignedMoney, SignedPercent, choice

TRADEABLE = tuple(status.value for status in book.TRADEABLE)


class OfferQuerySchema(CamelSchema):
    """Unknown parameters are refused (422), so a misspelt filter is not silently ignored."""

    grades = fields.String(validate=validate.Regexp(r"^[A-G]{1,7}$"), metadata={"example": "AB"})
    loan_status = fields.String(validate=validate.OneOf(TRADEABLE))
    min_yield = SignedPercent()
    max_markup = SignedPercent()
    max_payments_left = fields.Integer(validate=validate.Range(min=1, max=600))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class OfferSchema(CamelSchema):
    listing_id = fields.Integer()
    note_id = fields.Integer()
    loan_id = fields.Integer()
    grade = fields.String()
    term_months = fields.Integer()
    interest_rate = fields.Function(lambda offer: str(offer.interest_rate))
    purpose = fields.String()
    loan_status = fields.Function(
        lambda offer: offer.status.value, metadata={"enum": list(TRADEABLE)}
    )
    days_past_due = fields.Integer()
    payments_left = fields.Integer()
    modified = fields.Boolean(metadata={"description": "a hardship plan changed the schedule"})
    note_amount = Money()
    principal = Money(attribute="quote.principal")
    accrued_interest = Money(attribute="quote.accrued_interest")
    markup_percent = SignedPercent(attribute="quote.markup_percent")
    premium = SignedMoney(attribute="quote.premium")
    price = Money(attribute="quote.price", metadata={"description": "Send it back to buy."})
    yield_percent = SignedPercent(allow_none=True)
    listed_at = fields.DateTime()


class OffersSchema(CamelSchema):
    offers = fields.List(fields.Nested(OfferSchema))


class ListingRequestSchema(CamelSchema):
    investment_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    markup_percent = SignedPercent(required=True, metadata={"example": "-2.50"})


class SliceRequestSchema(CamelSchema):
    """A whole slice at one markup: the notes of these grades and/or loan states."""

    grades = fields.String(validate=validate.Regexp(r"^[A-G]{1,7}$"), load_default="")
    loan_statuses = fields.List(
        fields.String(validate=validate.OneOf(TRADEABLE)), load_default=list
    )
    markup_percent = SignedPercent(required=True)


class ListingSchema(CamelSchema):
    id = fields.Integer()
    investment_id = fields.Integer()
    markup_percent = SignedPercent()
    status = fields.Function(
        lambda listing: listing.status.value, metadata={"enum": [s.value for s in ListingStatus]}
    )
    listed_loan_status = fields.Function(
        lambda listing: listing.listed_loan_status.value,
        metadata={"enum": [s.value for s in ServicingStatus]},
    )
    created_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)


class SkippedSchema(CamelSchema):
    investment_id = fields.Integer()
    reason = fields.String()


class SliceResultSchema(CamelSchema):
    listed = fields.List(fields.Nested(ListingSchema))
    skipped = fields.List(fields.Nested(SkippedSchema))
    total_price = Money()
    total_fees = Money()
    total_proceeds = Money()


class TradeRequestSchema(CamelSchema):
    listing_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    price = Money(required=True, metadata={"description": "The price you were shown."})
    loan_status = choice(
        TRADEABLE, required=True, metadata={"description": "The loan status you were shown."}
    )


class TradeSchema(CamelSchema):
    id = fields.Integer()
    listing_id = fields.Integer()
    investment_id = fields.Integer()
    trade_date = fields.Date()
    principal = Money()
    accrued_interest = Money()
    markup_percent = SignedPercent()
    premium = SignedMoney()
    price = Money()
    fee = Money(metadata={"description": "Paid by the seller."})
    traded_at = fields.DateTime()
