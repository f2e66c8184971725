"""The collections queue: loans behind on their payments, and what admins do about each."""

from collections.abc import Callable
from datetime import date

from flask import abort, flash, request, url_for
from flask_login import current_user

from app.access import role_required
from app.extensions import db, get_policy
from app.forms import attach_errors, whole_number
from app.htmx import hx_redirect, render
from app.models import CollectionTask, Role
from app.services.collections import promises, tasks
from app.services.collections.tasks import OUTCOMES, STATES
from app.services.errors import DomainError

from .forms_collections import AssignForm, NoteForm, OutcomeForm, PromiseForm
from .routes import bp

TASK_PAGE = "admin/collection_task.html"


@bp.get("/collections")
@role_required(Role.ADMIN)
def collection_index():
    """Open tasks, most days past due first; filtered by state and assignee (me, nobody, one)."""
    state = request.args.get("state") if request.args.get("state") in STATES else None
    who = request.args.get("assignee") or ""
    assignee = current_user.id if who == "me" else whole_number(who) if who else None
    rows = tasks.queue(db.session, date.today(), state=state, assignee_id=assignee)
    return render(
        "admin/collections.html",
        "queue_rows",
        rows=rows,
        state=state,
        assignee=who,
        states=STATES,
        admins=tasks.admins(db.session),
    )


@bp.get("/collections/<int:task_id>")
@role_required(Role.ADMIN)
def collection_show(task_id: int):
    """One task: the loan's timeline, the notes and promises, and the actions."""
    return render(TASK_PAGE, **_task_page(db.get_or_404(CollectionTask, task_id)))


@bp.post("/collections/<int:task_id>/assign")
@role_required(Role.ADMIN)
def collection_assign(task_id: int):
    """Give the task to an admin (the "to me" button sends the signed-in admin)."""
    form = AssignForm().with_admins(tasks.admins(db.session))
    return _act(
        task_id,
        "assign",
        form,
        lambda task: tasks.assign(
            db.session, task.id, form.assignee_id.data or None, current_user.id
        ),
    )


@bp.post("/collections/<int:task_id>/notes")
@role_required(Role.ADMIN)
def collection_note(task_id: int):
    """Add a note to the task."""
    form = NoteForm()
    return _act(
        task_id,
        "note",
        form,
        lambda task: tasks.add_note(db.session, task.id, current_user.id, form.body.data),
    )


@bp.post("/collections/<int:task_id>/promises")
@role_required(Role.ADMIN)
def collection_promise(task_id: int):
    """Record the borrower's promise to pay an amount by a date."""
    form = PromiseForm()
    return _act(
        task_id,
        "promise",
        form,
        lambda task: promises.record(
            db.session,
            task.id,
            current_user.id,
            pay_by=form.pay_by.data,
            amount=form.amount.data,
            today=date.today(),
            policy=get_policy(),
        ),
    )


@bp.post("/collections/<int:task_id>/close")
@role_required(Role.ADMIN)
def collection_close(task_id: int):
    """Record the outcome; the task leaves the queue."""
    form = OutcomeForm()
    return _act(
        task_id,
        "outcome",
        form,
        lambda task: tasks.close(
            db.session, task.id, current_user.id, form.outcome.data, date.today(), get_policy()
        ),
    )


def _act(task_id: int, name: str, form, action: Callable):
    """Validate, act, commit and go back to the task; a refusal re-renders the forms (422)."""
    task = db.session.get(CollectionTask, task_id)
    if task is None:
        abort(404)
    if form.validate_on_submit():
        try:
            action(task)
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error)
        else:
            db.session.commit()
            flash("Done.", "success")
            return hx_redirect(url_for("admin.collection_show", task_id=task_id))
    task = db.session.get(CollectionTask, task_id)
    return render(TASK_PAGE, "task_forms", status=422, **_task_page(task, **{name: form}))


def _task_page(task: CollectionTask, **forms) -> dict:
    admins = tasks.admins(db.session)
    overdue = tasks.overdue_amounts(db.session, [task.loan_id], date.today())
    return {
        "task": task,
        "loan": task.loan,
        "overdue": overdue.get(task.loan_id, 0),
        "owed": promises.owed(db.session, task.loan),
        "outcomes": OUTCOMES,
        **tasks.history(db.session, task),
        "assign": forms.get("assign")
        or AssignForm(formdata=None, assignee_id=task.assignee_id or 0).with_admins(admins),
        "note": forms.get("note") or NoteForm(formdata=None),
        "promise": forms.get("promise") or PromiseForm(formdata=None),
        "outcome": forms.get("outcome") or OutcomeForm(formdata=None),
    }
