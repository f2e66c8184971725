"""Forms for cash, investing and preferences."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, NumberRange, Optional

from app.forms import IdempotentForm, MoneyField, money_field
from app.models import LoanPurpose, RiskTolerance
from app.services.trading import book


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


class MarkupField(MoneyField):
    what = "a percentage, like -2.5 or 1"


class SellForm(FlaskForm):
    """List a slice of the portfolio (or the notes ticked) at one markup."""

    markup_percent = MarkupField(
        "Markup (%; negative for a discount)",
        places=2,
        default=0,
        validators=[InputRequired(message="Enter a markup, 0 to sell at par.")],
    )
    grades = SelectMultipleField("Grades", choices=GRADES, validators=[Optional()])
    loan_statuses = SelectMultipleField(
        "Loan status",
        choices=[SelectChoice(s.value, book.STATUS_LABELS[s]) for s in book.TRADEABLE],
        validators=[Optional()],
    )
    note_ids = SelectMultipleField("Notes", coerce=int, validators=[Optional()])


class BuyForm(IdempotentForm):
    """Buy a listed note at the price and state the page showed."""

    price = MoneyField("Price", places=2, validators=[InputRequired()])
    loan_status = HiddenField(
        validators=[InputRequired(), AnyOf([status.value for status in book.TRADEABLE])]
    )


def _weight(grade: str) -> IntegerField:
    return IntegerField(
        f"Grade {grade} weight (%)",
        default=0,
        validators=[Optional(), NumberRange(min=0, max=100, message="From 0 to 100.")],
    )


class StrategyForm(FlaskForm):
    """An auto-invest strategy; the service checks the rules that span fields."""

    name = StringField("Name", validators=[InputRequired(message="Name the strategy.")])
    enabled = BooleanField("Running", default=True)
    weight_a, weight_b, weight_c, weight_d, weight_e = (_weight(g) for g in "ABCDE")
    terms = SelectMultipleField("Terms (none ticked: any)", coerce=int, validators=[Optional()])
    amount_per_note = amount_field("Amount per note (USD)", 25, 100000)
    max_per_loan = amount_field("Most in one loan (USD)", 25, 100000)
    max_loan_share_percent = MarkupField(
        "Most in one loan (% of portfolio)",
        places=2,
        default=5,
        validators=[InputRequired(message="Enter a share.")],
    )
    max_per_borrower = amount_field("Most per borrower (USD)", 25, 1000000)
    cash_reserve = amount_field("Cash to keep (USD)", 0, 10_000_000)
    buy_secondary = BooleanField("Also buy on the secondary market")
    max_markup_percent = MarkupField("Highest markup to pay (%)", places=2, default=0)
    reinvest_repayments = BooleanField("Reinvest repayments", default=True)

    def values(self) -> dict:
        weights = {g: getattr(self, f"weight_{g.lower()}").data or 0 for g in "ABCDE"}
        return {
            "name": self.name.data or "",
            "enabled": self.enabled.data,
            "grade_weights": {g: w for g, w in weights.items() if w},
            "terms": list(self.terms.data or []),
            "amount_per_note": self.amount_per_note.data,
            "max_per_loan": self.max_per_loan.data,
            "max_loan_share_percent": self.max_loan_share_percent.data,
            "max_per_borrower": self.max_per_borrower.data,
            "cash_reserve": self.cash_reserve.data,
            "buy_secondary": self.buy_secondary.data,
            "max_markup_percent": self.max_markup_percent.data or 0,
            "reinvest_repayments": self.reinvest_repayments.data,
        }


class ExitForm(FlaskForm):
    markup_percent = MarkupField(
        "Discount (%; 0 sells at par, -5 at a 5% discount)",
        places=2,
        default=0,
        validators=[InputRequired(message="Enter 0 or a negative discount.")],
    )
