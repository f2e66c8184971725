"""Forms for registration, sign-in, password and profile."""

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.models import EmploymentStatus, Role

EMPLOYMENT_CHOICES = [SelectChoice("", "Choose…")] + [
    SelectChoice(status.value, status.value.replace("_", " ").capitalize())
    for status in EmploymentStatus
]


def whole_cents(form, field) -> None:
    """Money is entered to the cent, never finer."""
    if field.data is not None and field.data.as_tuple().exponent < -2:
        raise ValidationError("Use at most two decimal places.")


def money_field(label, minimum, maximum, **kwargs) -> DecimalField:
    """A required amount in dollars and cents within [minimum, maximum]."""
    return DecimalField(
        label,
        places=2,
        validators=[
            InputRequired(message="Enter an amount."),
            NumberRange(
                min=minimum,
                max=maximum,
                message=f"Enter an amount from {minimum:,} to {maximum:,}.",
            ),
            whole_cents,
        ],
        **kwargs,
    )


class RegisterForm(FlaskForm):
    role = RadioField(
        "I want to",
        choices=[
            SelectChoice(Role.BORROWER.value, "Borrow money"),
            SelectChoice(Role.LENDER.value, "Invest in loans"),
        ],
        validators=[DataRequired(message="Choose borrower or lender.")],
    )
    first_name = StringField("First name", validators=[DataRequired(), Length(max=100)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=100)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=128)],
        description="At least 10 characters; a phrase of unrelated words works well.",
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=128)],
        description="At least 10 characters; a phrase of unrelated words works well.",
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=128)])
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", message="The passwords do not match.")],
    )


class ProfileForm(FlaskForm):
    first_name = StringField("First name", validators=[DataRequired(), Length(max=100)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=100)])
    phone = StringField("Phone", validators=[Optional(), Length(min=7, max=32)])
    date_of_birth = DateField("Date of birth", validators=[Optional()])
    address_line1 = StringField("Address", validators=[Optional(), Length(max=200)])
    address_line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[Optional(), Length(max=100)])
    state = StringField("State", validators=[Optional(), Length(max=100)])
    postal_code = StringField("Postal code", validators=[Optional(), Length(max=20)])
    annual_income = DecimalField(
        "Annual income (USD)",
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=100_000_000, message="Enter an amount from 0 to 100,000,000."),
            whole_cents,
        ],
    )
    employment_status = SelectField(
        "Employment status", choices=EMPLOYMENT_CHOICES, validators=[Optional()]
    )

    def changes(self) -> dict:
        """The submitted values as plain Python values for the accounts service."""
        values = {
            name: getattr(self, name).data
            for name in (
                "first_name",
                "last_name",
                "phone",
                "date_of_birth",
                "address_line1",
                "address_line2",
                "city",
                "state",
                "postal_code",
                "annual_income",
            )
        }
        status = self.employment_status.data
        values["employment_status"] = EmploymentStatus(status) if status else None
        return values
