"""A second look before money moves or a decision lands: the confirmation step of those forms.

The form is sent once without `confirmed`: the answer is this step, with the amounts and what
follows. Its button sends the same form again with `confirmed=yes` (for htmx, the button names
the form with the `form` attribute, so the form's own target and swap apply; without JavaScript,
a page re-posts the fields it was given).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block

from app.extensions import db
from app.htmx import to_confirm_region, trigger_id

TEMPLATE = "confirm.html"


@dataclass(frozen=True)
class Confirmation:
    question: str  # "Pay $327.40 now?"
    consequence: str  # what follows, in a sentence or two
    button: str  # names the act: "Pay $327.40"
    facts: list[tuple[str, str]] = field(default_factory=list)  # the figures, labelled
    destructive: bool = False  # cannot be undone, or takes something away


def confirmed() -> bool:
    return request.form.get("confirmed") == "yes"


def rehearse(action: Callable[[], object]) -> None:
    """Run `action` inside a savepoint and undo it, so a refusal (DomainError, raised) comes
    before the confirmation step instead of after it. Only for actions whose every effect is
    in the database (no payment provider, no email sent inline)."""
    savepoint = db.session.begin_nested()
    try:
        action()
    finally:
        savepoint.rollback()


def ask(step: Confirmation, back: str) -> Response:
    """The confirmation step for the form just sent; `back` is the page to return to."""
    form_id = trigger_id()
    if form_id:
        return to_confirm_region(
            make_response(render_block(TEMPLATE, "step", step=step, form_id=form_id))
        )
    fields = [
        (name, value)
        for name in request.form
        if name != "confirmed"
        for value in request.form.getlist(name)
    ]
    page = render_template(
        TEMPLATE,
        step=step,
        form_id=None,
        fields=fields,
        action=request.full_path.rstrip("?"),
        back=back,
    )
    return make_response(page)
