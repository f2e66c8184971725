"""Forms for applications and payments."""

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.forms import IdempotentForm, MoneyField, PercentField, money_field
from app.models import APPLICATION_LIMITS as LIMITS
from app.models import CREDIT_FACTS, LoanPurpose

PURPOSE_CHOICES = [
    SelectChoice(p.value, p.value.replace("_", " ").capitalize()) for p in LoanPurpose
]


def count_field(label, maximum, description=None):
    return IntegerField(
        label,
        description=description,
        validators=[
            InputRequired(message="This field is required."),
            NumberRange(min=0, max=maximum, message=f"Enter a whole number from 0 to {maximum}."),
        ],
    )


class ApplicationForm(FlaskForm):
    # The page's own key: sent twice (a double click, a retry after a lost answer), the
    # application is made once. Optional for callers that post without the page.
    idempotency_key = HiddenField(validators=[Optional(), Length(max=120)])
    amount = money_field("Amount to borrow (USD)", *LIMITS["amount"])
    term_months = SelectField("Term", coerce=int, validators=[DataRequired()])
    purpose = SelectField("Purpose", choices=PURPOSE_CHOICES, validators=[DataRequired()])
    title = StringField(
        "Short title",
        validators=[Optional(), Length(max=120)],
        description="Shown to lenders, e.g. “Consolidate two credit cards”.",
    )
    description = TextAreaField("What the loan is for", validators=[Optional(), Length(max=2000)])
    collateral_description = TextAreaField(
        "Collateral (optional)", validators=[Optional(), Length(max=1000)]
    )
    annual_income = money_field("Annual income (USD)", *LIMITS["annual_income"])
    monthly_debt = money_field(
        "Monthly debt payments (USD)",
        *LIMITS["monthly_debt"],
        description="Rent or mortgage, car, student and card minimums.",
    )
    credit_score = IntegerField(
        "Credit score",
        validators=[
            InputRequired(message="This field is required."),
            NumberRange(*LIMITS["credit_score"], message="Enter a credit score from 300 to 850."),
        ],
    )
    credit_history_months = count_field(
        "Months since your first credit account", LIMITS["credit_history_months"][1]
    )
    revolving_balance = money_field("Credit card balances (USD)", *LIMITS["revolving_balance"])
    revolving_utilization = PercentField(
        "Credit utilisation (%)",
        places=1,
        validators=[
            InputRequired(message="This field is required."),
            NumberRange(
                *LIMITS["revolving_utilization"], message="Enter a percentage from 0 to 200."
            ),
        ],
    )
    inquiries_6m = count_field("Credit inquiries in the last 6 months", LIMITS["inquiries_6m"][1])
    delinquencies_2y = count_field(
        "Payments 30+ days late in the last 2 years", LIMITS["delinquencies_2y"][1]
    )
    public_records = count_field(
        "Public records (bankruptcies, judgments)", LIMITS["public_records"][1]
    )

    def credit_facts(self) -> dict:
        """The credit facts as plain values for the services."""
        return {name: getattr(self, name).data for name in CREDIT_FACTS}


class PaymentForm(IdempotentForm):
    choice = RadioField(
        "Pay",
        default="scheduled",
        choices=[
            SelectChoice("scheduled", "The amount due"),
            SelectChoice("payoff", "Pay off the loan"),
            SelectChoice("other", "Another amount"),
        ],
    )
    amount = MoneyField(
        "Amount (USD)",
        places=2,
        validators=[Optional(), NumberRange(min=1, message="Enter at least $1.00.")],
    )

    def validate(self, extra_validators=None) -> bool:
        """Another amount needs the amount (Optional() stops a field's own checks when empty)."""
        valid = super().validate(extra_validators)
        if self.choice.data == "other" and self.amount.data is None and not self.amount.errors:
            self.amount.errors.append("Enter the amount you want to pay.")
            return False
        return valid


class SchedulePaymentForm(IdempotentForm):
    """On the loan page beside the pay form: its fields carry a prefix so ids stay unique."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "schedule")
        super().__init__(*args, **kwargs)

    amount = MoneyField(
        "Amount to pay (USD)",
        places=2,
        validators=[InputRequired(message="Enter the amount to pay."),
                    NumberRange(min=1, message="Enter at least $1.00.")],
    )  # fmt: skip
    pay_on = DateField("Pay on", validators=[InputRequired(message="Choose the date to pay.")])


class ReviewRequestForm(FlaskForm):
    """Ask a person to review a decline or a counter-offer."""

    note = TextAreaField(
        "Anything the reviewer should know (optional)",
        description="For example: income the application did not show, or a debt now paid off.",
        validators=[Optional(), Length(max=2000)],
    )
