"""Forms for cash, investing and preferences."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional

from app.forms import IdempotentForm, MoneyField, money_field
from app.models import LoanPurpose, RiskTolerance


def amount_field(label="Amount (USD)", minimum=1, maximum=1_000_000, **kwargs):
    return money_field(label, minimum, maximum, **kwargs)


# Both forms sit on the cash page: each field needs an id of its own for its label.
class DepositForm(IdempotentForm):
    amount = amount_field(id="deposit-amount")


class WithdrawForm(IdempotentForm):
    amount = amount_field(id="withdraw-amount")


class InvestForm(IdempotentForm):
    amount = MoneyField(
        "Invest (USD)",
        places=2,
        default=25,
        validators=[
            InputRequired(message="Enter an amount."),
            NumberRange(min=0, message="Enter an amount."),
        ],
    )


GRADES = [SelectChoice(g, g) for g in "ABCDE"]
PURPOSES = [SelectChoice(p.value, p.value.replace("_", " ").capitalize()) for p in LoanPurpose]


class PreferencesForm(FlaskForm):
    risk_tolerance = SelectField(
        "Risk tolerance",
        choices=[SelectChoice(r.value, r.value.capitalize()) for r in RiskTolerance],
    )
    min_note_amount = amount_field("Smallest note (USD)", 25, 100000)
    max_note_amount = amount_field("Largest note (USD)", 25, 100000)
    terms = SelectMultipleField("Terms", coerce=int, validators=[Optional()])
    purposes = SelectMultipleField("Purposes", choices=PURPOSES, validators=[Optional()])
    grades = SelectMultipleField("Grades", choices=GRADES, validators=[Optional()])
    auto_invest_enabled = BooleanField("Invest automatically by these rules")
    auto_amount_per_note = amount_field("Amount per note (USD)", 25, 100000)
    auto_max_per_loan = amount_field("Most in one loan (USD)", 25, 100000)
    auto_cash_cap = amount_field("Most cash auto-invest may use (USD)", 0, 10_000_000)
