"""Forms of the collections queue: assign, note, promise to pay, outcome."""

from wtforms import DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from app.forms import money_field
from app.services.collections.tasks import OUTCOMES

from .forms import AdminForm


class AssignForm(AdminForm):
    class Meta:
        id_prefix = "assign"

    assignee_id = SelectField("Assign to", coerce=int, validate_choice=True)

    def with_admins(self, admins):
        self.assignee_id.choices = [SelectChoice(0, "Nobody")] + [
            SelectChoice(a.id, a.email) for a in admins
        ]
        return self


class NoteForm(AdminForm):
    class Meta:
        id_prefix = "note"

    body = TextAreaField(
        "Note", validators=[DataRequired(message="Write the note."), Length(max=4000)]
    )


class PromiseForm(AdminForm):
    class Meta:
        id_prefix = "promise"

    pay_by = DateField("Pay by", validators=[InputRequired(message="Enter the promised date.")])
    amount = money_field("Amount promised", 0.01, 10_000_000)


class OutcomeForm(AdminForm):
    class Meta:
        id_prefix = "outcome"

    outcome = SelectField(
        "Outcome",
        choices=[SelectChoice("", "Choose…"), *(SelectChoice(k, v) for k, v in OUTCOMES.items())],
        validators=[DataRequired(message="Choose an outcome.")],
    )
