"""The API's request and response shapes (marshmallow), camelCase on the wire."""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.models import APPLICATION_LIMITS as LIMITS
from app.models import EmploymentStatus, InvestmentStatus, LoanPurpose, LoanStatus

from .fields import CamelSchema, Money, Percent, SignedMoney, SignedPercent, choice


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.String())


class IndexSchema(Schema):
    name = fields.String()
    version = fields.String()
    openapi = fields.String()
    docs = fields.String()


# --- accounts -----------------------------------------------------------------------------


class RegisterSchema(CamelSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=10, max=200)
    )
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = choice(["borrower", "lender"], required=True)


class LoginSchema(CamelSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=200)
    )
    otp = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "With two-step sign-in on: the app's code or a recovery code"},
    )


class ProfileSchema(CamelSchema):
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    role = fields.Function(lambda user: user.role.value, dump_only=True)
    first_name = fields.String(validate=validate.Length(min=1, max=100))
    last_name = fields.String(validate=validate.Length(min=1, max=100))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    date_of_birth = fields.Date(allow_none=True)
    address_line1 = fields.String(allow_none=True, validate=validate.Length(max=200))
    address_line2 = fields.String(allow_none=True, validate=validate.Length(max=200))
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    state = fields.String(allow_none=True, validate=validate.Length(max=100))
    postal_code = fields.String(allow_none=True, validate=validate.Length(max=20))
    country = fields.String(dump_only=True)
    annual_income = Money(allow_none=True)
    net_worth = Money(
        allow_none=True,
        metadata={"description": "a lender's declared net worth: their notes may total at most "
                  "10 % of it (null: not declared, so no investing yet)"},
    )  # fmt: skip
    employment_status = fields.Function(
        lambda user: user.employment_status.value if user.employment_status else None,
        deserialize=lambda value: _employment(value),
        allow_none=True,
        metadata={"enum": [s.value for s in EmploymentStatus]},
    )
    identity_status = fields.Function(lambda user: user.identity_status.value, dump_only=True)
    credit_score = fields.Integer(dump_only=True, allow_none=True)
    credit_score_source = fields.Function(
        lambda user: user.credit_score_source and user.credit_score_source.value,
        dump_only=True,
        metadata={"description": "self_reported, imported or bureau; null without a score"},
    )
    profile_complete = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


def _employment(value):
    try:
        return EmploymentStatus(value)
    except ValueError as error:
        raise ValidationError(
            "Choose one of " + ", ".join(s.value for s in EmploymentStatus)
        ) from error


class TokenSchema(CamelSchema):
    token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_at = fields.DateTime(required=True)
    user = fields.Nested(ProfileSchema, required=True)


# --- loans ---------------------------------------------------------------------------------


class ApplicationSchema(CamelSchema):
    """What the model scores: the same for an application and a what-if risk assessment."""

    amount = Money(required=True, low=LIMITS["amount"][0], high=LIMITS["amount"][1])
    term_months = fields.Integer(required=True, validate=validate.Range(min=1, max=600))
    purpose = choice(LoanPurpose, required=True)
    annual_income = Money(
        required=True, low=LIMITS["annual_income"][0], high=LIMITS["annual_income"][1]
    )
    monthly_debt = Money(required=True, high=LIMITS["monthly_debt"][1])
    credit_score = fields.Integer(required=True, validate=validate.Range(*LIMITS["credit_score"]))
    credit_history_months = fields.Integer(
        required=True, validate=validate.Range(*LIMITS["credit_history_months"])
    )
    revolving_balance = Money(required=True, high=LIMITS["revolving_balance"][1])
    revolving_utilization = Percent(required=True, high=LIMITS["revolving_utilization"][1])
    inquiries_6m = fields.Integer(required=True, validate=validate.Range(*LIMITS["inquiries_6m"]))
    delinquencies_2y = fields.Integer(
        required=True, validate=validate.Range(*LIMITS["delinquencies_2y"])
    )
    public_records = fields.Integer(
        required=True, validate=validate.Range(*LIMITS["public_records"])
    )


class LoanApplicationSchema(ApplicationSchema):
    title = fields.String(validate=validate.Length(max=120), allow_none=True)
    description = fields.String(validate=validate.Length(max=2000), allow_none=True)


class BorrowerSummarySchema(CamelSchema):
    """What a lender may know about the borrower: bands, never identity or exact figures."""

    score_band = fields.String()
    income_band = fields.String()
    dti = Percent(metadata={"description": "Debt-to-income, percent"})
    history_years = fields.Integer()
    utilization = Percent()
    inquiries = fields.Integer()
    delinquencies = fields.Integer()
    public_records = fields.Integer()
    verified = fields.Boolean()
    pd_band = fields.String()
    reasons = fields.List(fields.String())


class LoanSchema(CamelSchema):
    id = fields.Integer()
    status = choice(LoanStatus)  # StrEnum members serialise as their values
    servicing_status = fields.String(allow_none=True)
    modified = fields.Boolean(metadata={"description": "a hardship plan changed the schedule"})
    amount = Money()
    requested_amount = Money(allow_none=True)
    term_months = fields.Integer()
    purpose = choice(LoanPurpose)
    title = fields.String(allow_none=True)
    risk_grade = fields.String(allow_none=True)
    risk_score = fields.Integer(allow_none=True)
    interest_rate = Percent(allow_none=True)
    apr = Percent(allow_none=True)
    origination_fee = Money(allow_none=True)
    monthly_payment = Money(allow_none=True)
    total_payment = Money(allow_none=True)
    funded_amount = Money()
    percent_funded = Percent()
    funding_deadline = fields.DateTime(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    decision_reasons = fields.List(fields.String(), allow_none=True)
    borrower = fields.Nested(BorrowerSummarySchema, allow_none=True)


class LoanQuerySchema(CamelSchema):
    """Unknown parameters are refused (422), so a misspelt filter is not silently ignored."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    status = choice(LoanStatus)
    min_amount = Money()
    max_amount = Money()
    risk_grade = fields.String(validate=validate.Regexp(r"^[A-G][1-5]?$"))
    sort_by = fields.String(
        load_default="createdAt", validate=validate.OneOf(["amount", "interestRate", "createdAt"])
    )
    sort_order = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))


class PaginationSchema(CamelSchema):
    page = fields.Integer()
    limit = fields.Integer()
    total = fields.Integer()
    total_pages = fields.Integer()


class LoanPageSchema(CamelSchema):
    loans = fields.List(fields.Nested(LoanSchema))
    pagination = fields.Nested(PaginationSchema)


# --- money -------------------------------------------------------------------------------


KEY_DESCRIPTION = (
    "a fresh random value (a UUID) per intended operation; sent again, it returns the first result"
)


def _idempotency_key(*, required: bool) -> fields.String:
    presence = {"required": True} if required else {"load_default": None}
    return fields.String(
        data_key="Idempotency-Key",
        validate=validate.Length(min=8, max=120),
        metadata={"description": ("Required: " if required else "Optional: ") + KEY_DESCRIPTION},
        **presence,
    )


class IdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    key = _idempotency_key(required=True)


class OptionalIdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    key = _idempotency_key(required=False)


class InvestmentRequestSchema(CamelSchema):
    loan_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    amount = Money(required=True)


class InvestmentSchema(CamelSchema):
    id = fields.Integer()
    loan_id = fields.Integer()
    amount = Money()
    principal_outstanding = Money()
    status = fields.Function(
        lambda note: note.status.value, metadata={"enum": [s.value for s in InvestmentStatus]}
    )
    auto_invested = fields.Boolean()
    created_at = fields.DateTime()
    loan_grade = fields.Function(lambda note: note.loan.risk_grade)
    loan_interest_rate = fields.Function(
        lambda note: str(note.loan.interest_rate) if note.loan.interest_rate is not None else None
    )
    loan_status = fields.Function(
        lambda note: (
            note.loan.servicing_status.value
            if note.loan.servicing_status
            else note.loan.status.value
        )
    )
    # Read from the schedule, allocations and ledger (servicing/note_returns), never stored.
    expected_return = SignedMoney(
        attribute="returns.expected_return",
        metadata={"description": "the note's share of all its loan's scheduled interest"},
    )
    actual_return = SignedMoney(
        attribute="returns.actual_return",
        metadata={"description": "earned so far, less servicing fees and principal written off"},
    )
    maturity_date = fields.Date(attribute="returns.maturity_date", allow_none=True)


class PortfolioSummarySchema(CamelSchema):
    total_invested = Money()
    outstanding_principal = Money()
    available_cash = Money()
    committed_cash = Money()
    expected_return = Money(metadata={"description": "Interest still scheduled on active notes"})
    actual_return = SignedMoney(
        metadata={
            "description": "Interest, fees and recoveries received, less servicing fees and charged-off principal"
        }
    )
    active_count = fields.Integer()
    completed_count = fields.Integer()
    nar_percent = SignedPercent(allow_none=True)
    adjusted_nar_percent = SignedPercent(allow_none=True)


class PortfolioSchema(CamelSchema):
    investments = fields.List(fields.Nested(InvestmentSchema))
    summary = fields.Nested(PortfolioSummarySchema)


class PaymentRequestSchema(CamelSchema):
    loan_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    amount = Money(required=True)


class PaymentSchema(CamelSchema):
    id = fields.Integer()
    loan_id = fields.Integer()
    amount = Money()
    status = fields.Function(lambda payment: payment.status.value)
    received_on = fields.Date(allow_none=True)
    principal_applied = Money()
    interest_applied = Money()
    fees_applied = Money()
    due_date = fields.Date(
        allow_none=True, metadata={"description": "of the installment paid first"}
    )
    payment_type = fields.Function(
        lambda payment: payment.payment_type.value if payment.payment_type else None,
        metadata={"enum": ["scheduled", "early", "late"], "description": "against due_date"},
    )


class ScheduledPaymentSchema(CamelSchema):
    id = fields.Integer()
    loan_id = fields.Integer()
    amount = Money()
    pay_on = fields.Date()
    next_attempt_on = fields.Date()
    status = fields.Function(lambda planned: planned.status.value)
    autopay = fields.Boolean()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    payment_id = fields.Integer(allow_none=True)


class PaymentResultSchema(CamelSchema):
    payment = fields.Nested(PaymentSchema, allow_none=True)
    message = fields.String()
    client_secret = fields.String(
        allow_none=True, metadata={"description": "Stripe: confirm the charge with this"}
    )


class InstallmentSchema(CamelSchema):
    number = fields.Integer()
    due_date = fields.Date()
    principal_due = Money()
    interest_due = Money()
    fee_due = Money()
    total_due = Money()
    total_paid = Money()
    status = fields.Function(lambda row: row.status.value)


class PaymentSummarySchema(CamelSchema):
    total_paid = Money()
    remaining_balance = Money()
    next_payment_due = fields.Date(allow_none=True)
    next_payment_amount = Money(allow_none=True)


class PaymentHistorySchema(CamelSchema):
    payments = fields.List(fields.Nested(PaymentSchema))
    scheduled = fields.List(fields.Nested(ScheduledPaymentSchema))
    schedule = fields.List(fields.Nested(InstallmentSchema))
    summary = fields.Nested(PaymentSummarySchema)


# --- risk ----------------------------------------------------------------------------------


class RiskFactorSchema(CamelSchema):
    code = fields.String()
    text = fields.String()
    contribution = fields.Float(allow_none=True)


class RiskAssessmentSchema(CamelSchema):
    risk_score = fields.Integer()
    grade = fields.String(allow_none=True)
    probability_of_default = fields.Float()
    recommended_rate = Percent(allow_none=True)
    approved = fields.Boolean()
    scorer = fields.String()
    model_version = fields.String()
    risk_factors = fields.List(fields.Nested(RiskFactorSchema))


class MatchSchema(CamelSchema):
    loan = fields.Nested(LoanSchema)
    score = fields.Integer(metadata={"description": "0-100"})
    reasons = fields.List(fields.String())
    expected_return_percent = SignedPercent()


class MatchListSchema(CamelSchema):
    matches = fields.List(fields.Nested(MatchSchema))
