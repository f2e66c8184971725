"""Forms for the admin queues, people, loan servicing and CSV imports."""

from datetime import date
from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from app.formatting import money
from app.forms import IdempotentForm, money_field
from app.models import Document, Installment, Role
from app.risk.grading import SUB_GRADES
from app.services.lending import adverse_action
from app.services.platform import imports

NEEDS_REASON = "Every servicing action needs a reason."
MAX_ID = 2**31 - 1  # PostgreSQL integer ids


class AdminForm(FlaskForm):
    """Element ids start with `Meta.id_prefix`, so several forms share a page (names stay)."""

    class Meta:
        id_prefix = ""

        def bind_field(self, form, unbound_field, options):
            if self.id_prefix:
                options = {**options, "id": f"{self.id_prefix}-{options['name']}"}
            return unbound_field.bind(form=form, **options)


def reason_field(label: str, message: str) -> StringField:
    """A required one-line reason (stored with the decision and shown in the activity log)."""
    return StringField(label, validators=[DataRequired(message=message), Length(max=500)])


def _whole_number(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ApproveForm(AdminForm):
    class Meta:
        id_prefix = "approve"

    reason = StringField("Note (optional)", validators=[Optional(), Length(max=2000)])
    override_reason = TextAreaField(
        "Reason to approve before verification",
        validators=[Optional(), Length(max=2000)],
        description="Only while identity or income is unverified; a second admin must approve too.",
    )


class DeclineForm(AdminForm):
    class Meta:
        id_prefix = "decline"

    reason = TextAreaField(
        "Reasons for declining (one per line)",
        validators=[
            DataRequired(message="Give the principal reasons for the decline."),
            Length(max=2000),
        ],
    )


class DocumentReviewForm(AdminForm):
    """Verify, or reject with a reason the owner sees; one per document on a page."""

    decision = StringField(
        validators=[AnyOf(["verify", "reject"], message="Choose verify or reject.")]
    )
    reason = StringField("Reason if rejecting", validators=[Optional(), Length(max=500)])
    loan_id = IntegerField(widget=HiddenInput(), validators=[Optional()])

    @classmethod
    def for_document(cls, document: Document, **kwargs) -> "DocumentReviewForm":
        """The form for one document: its own element ids, its file named in the label."""
        form = cls(meta={"id_prefix": f"document-{document.id}"}, **kwargs)
        form.reason.label.text = f"Reason if rejecting {document.original_filename}"
        return form

    @property
    def verified(self) -> bool:
        return self.decision.data == "verify"

    @property
    def origin_loan_id(self) -> int | None:
        """The application page the form was on, if any (a usable id, never a huge number)."""
        loan_id = self.loan_id.data
        return loan_id if isinstance(loan_id, int) and 0 < loan_id <= MAX_ID else None


class VerifyForm(AdminForm):
    class Meta:
        id_prefix = "verify"


class ReactivateForm(AdminForm):
    class Meta:
        id_prefix = "reactivate"


class SuspendForm(AdminForm):
    class Meta:
        id_prefix = "suspend"

    reason = reason_field("Reason for suspending", "Say why the account is suspended.")


class RoleForm(AdminForm):
    class Meta:
        id_prefix = "role"

    role = SelectField(
        "Role",
        choices=[SelectChoice(r.value, r.value) for r in Role],
        validate_choice=False,  # AnyOf says it in words
        validators=[AnyOf([r.value for r in Role], message="Choose borrower, lender or admin.")],
    )


class PaymentForm(IdempotentForm, AdminForm):
    class Meta:
        id_prefix = "payment"

    amount = money_field("Amount (USD)", Decimal("0.01"), Decimal("10000000"))
    received_on = DateField("Received on", default=date.today, validators=[Optional()])
    reason = reason_field("Reason", NEEDS_REASON)


class WaiveForm(AdminForm):
    class Meta:
        id_prefix = "waive"

    installment_id = SelectField(
        "Installment",
        coerce=_whole_number,
        validate_choice=False,  # checked against the loan's own installments below
        validators=[InputRequired(message="Choose an installment with an unpaid late fee.")],
    )
    reason = reason_field("Reason", NEEDS_REASON)

    def with_installments(self, installments: list[Installment]) -> "WaiveForm":
        """Offer this loan's installments that carry an unpaid late fee."""
        self.installment_id.choices = [
            SelectChoice(i.id, f"#{i.number} — {money(i.fee_outstanding)}")
            for i in installments
            if i.fee_outstanding > 0
        ]
        return self

    def validate_installment_id(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices or []}:
            raise ValidationError("Choose an installment with an unpaid late fee.")


class ChargeOffForm(AdminForm):
    class Meta:
        id_prefix = "charge-off"

    reason = reason_field("Reason", NEEDS_REASON)


class ImportForm(FlaskForm):
    kind = SelectField(
        "The file holds",
        choices=[SelectChoice("", "Choose…"), *(SelectChoice(k, k) for k in imports.KINDS)],
        validate_choice=False,  # AnyOf says it in words
        validators=[AnyOf(list(imports.KINDS), message="Choose what the file holds.")],
    )
    file = FileField(
        "CSV file",
        render_kw={"accept": ".csv,text/csv"},
        validators=[
            FileRequired(message="Choose a CSV file."),
            FileAllowed(["csv"], message="Only .csv files can be imported."),
        ],
    )


class PayoutSentForm(AdminForm):
    """The bank transfer for a withdrawal was made."""

    reference = StringField(
        "Bank reference",
        validators=[DataRequired(message="Enter the bank's reference for the transfer."),
                    Length(max=120)],
    )  # fmt: skip


class PayoutFailedForm(AdminForm):
    """A withdrawal refused before sending, or returned by the bank."""

    reason = reason_field("Why it failed", "Say why the withdrawal failed (the lender sees it).")


class NoticeReviewForm(AdminForm):
    """A person's decision on a review the applicant asked for."""

    outcome = SelectField(
        "Decision",
        choices=[
            SelectChoice("upheld", "The decision stands"),
            SelectChoice("overturned", "Overturn: offer the loan asked for"),
        ],
        validators=[AnyOf(adverse_action.OUTCOMES, message="Choose a decision.")],
    )
    grade = SelectField(
        "Grade to offer at (when overturning)",
        choices=[SelectChoice("", "—"), *(SelectChoice(grade, grade) for grade in SUB_GRADES)],
        validators=[Optional()],
    )
    reason = TextAreaField(
        "Reason (the applicant reads it)",
        validators=[DataRequired(message="Give the reason for your decision."), Length(max=2000)],
    )


class DeclineHardshipForm(AdminForm):
    class Meta:
        id_prefix = "decline"

    reason = reason_field("Reason (the borrower reads it)", "Say why the request is declined.")
