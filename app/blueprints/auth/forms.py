"""Forms for registration, sign-in, password, profile and documents."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
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
    Length,
    Optional,
)

from app.forms import money_field
from app.models import DocumentKind, EmploymentStatus, Role
from app.services.accounts import passwords
from app.services.accounts.accounts import PROFILE_FIELDS


class AllPasswordErrorsAtOnce:
    """A new password's strength is judged with the other fields, so a mismatch and a weak
    password are told together, not on two tries. The service checks again (it decides)."""

    strength_checked_field = "password"

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        field = getattr(self, self.strength_checked_field)
        if field.data and not field.errors:
            hints = [getattr(getattr(self, name, None), "data", None) for name in HINT_FIELDS]
            weak = passwords.weakness(field.data, [str(hint) for hint in hints if hint])
            if weak:
                field.errors.append(weak)
                return False
        return valid


HINT_FIELDS = ("email", "first_name", "last_name")
DOCUMENT_CHOICES = [SelectChoice(k.value, k.value.capitalize()) for k in DocumentKind]
EMPLOYMENT_CHOICES = [SelectChoice("", "Choose…")] + [
    SelectChoice(status.value, status.value.replace("_", " ").capitalize())
    for status in EmploymentStatus
]


class RegisterForm(AllPasswordErrorsAtOnce, FlaskForm):
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


class ResetPasswordForm(AllPasswordErrorsAtOnce, FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=128)],
        description="At least 10 characters; a phrase of unrelated words works well.",
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class PasswordForm(AllPasswordErrorsAtOnce, FlaskForm):
    strength_checked_field = "new_password"

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
    annual_income = money_field("Annual income (USD)", 0, 100_000_000, required=False)
    net_worth = money_field("Net worth (USD)", 0, 10_000_000_000, required=False)
    employment_status = SelectField(
        "Employment status", choices=EMPLOYMENT_CHOICES, validators=[Optional()]
    )

    def changes(self) -> dict:
        """The submitted values as plain Python values for the accounts service."""
        values = {name: getattr(self, name).data for name in PROFILE_FIELDS}
        status = values["employment_status"]
        values["employment_status"] = EmploymentStatus(status) if status else None
        return values


class DocumentForm(FlaskForm):
    kind = SelectField("Document", choices=DOCUMENT_CHOICES, validators=[DataRequired()])
    file = FileField(
        "File",
        validators=[FileRequired(message="Choose a file to upload.")],
        description="PDF, JPEG, PNG or Word, up to 10 MB.",
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired(message="Enter the code."), Length(max=40)],
        description="The 6 digits your authenticator app shows now, or a recovery code.",
    )
