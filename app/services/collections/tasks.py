"""The admins' collections queue: tasks with their loans' figures, and the actions on a task."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    CollectionEvent,
    CollectionNote,
    CollectionTask,
    Installment,
    InstallmentStatus,
    Loan,
    PromiseState,
    PromiseToPay,
    Role,
    TaskState,
    User,
)
from app.services.collections import agency
from app.services.errors import DomainError, ValidationFailed
from app.services.platform import activity
from app.services.policy import DEFAULT_POLICY, LendingPolicy

# What an admin may record when closing a task (the cycle itself closes with "paid_up" or
# "promise_kept").
OUTCOMES = {
    "resolved": "Resolved with the borrower",
    "hardship_referral": "Referred to a hardship plan",
    "unreachable": "Borrower unreachable",
    "sent_to_agency": "Sent to a collection agency",
    "written_off": "Nothing more to collect",
}
STATES = tuple(state.value for state in TaskState)


@dataclass(frozen=True)
class QueueRow:
    task: CollectionTask
    days_past_due: int
    overdue: Decimal
    assignee: str | None
    promise: PromiseToPay | None


def overdue_amounts(session: Session, loan_ids: list[int], today: date) -> dict[int, Decimal]:
    """Unpaid principal, interest and fees of installments already due, per loan."""
    unpaid = (
        Installment.principal_due
        + Installment.interest_due
        + Installment.fee_due
        - Installment.principal_paid
        - Installment.interest_paid
        - Installment.fee_paid
    )
    return dict(
        session.execute(
            select(Installment.loan_id, func.sum(unpaid))
            .where(
                Installment.loan_id.in_(loan_ids),
                Installment.status.in_((InstallmentStatus.DUE, InstallmentStatus.LATE)),
                Installment.due_date < today,
            )
            .group_by(Installment.loan_id)
        ).all()
    )


def queue(
    session: Session, today: date, *, state: str | None = None, assignee_id: int | None = None
) -> list[QueueRow]:
    """Tasks not closed (or of `state`), most days past due first; of one assignee if given
    (0: nobody's)."""
    query = select(CollectionTask, Loan.days_past_due, User.email).join(
        Loan, Loan.id == CollectionTask.loan_id
    )
    query = query.outerjoin(User, User.id == CollectionTask.assignee_id)
    if state in STATES:
        query = query.where(CollectionTask.state == state)
    else:
        query = query.where(CollectionTask.state != TaskState.CLOSED)
    if assignee_id == 0:
        query = query.where(CollectionTask.assignee_id.is_(None))
    elif assignee_id is not None:
        query = query.where(CollectionTask.assignee_id == assignee_id)
    rows = session.execute(
        query.order_by(Loan.days_past_due.desc(), CollectionTask.id).limit(200)
    ).all()
    task_ids = [task.id for task, _, _ in rows]
    pending = {
        promise.task_id: promise
        for promise in session.scalars(
            select(PromiseToPay).where(
                PromiseToPay.task_id.in_(task_ids), PromiseToPay.state == PromiseState.PENDING
            )
        )
    }
    overdue = overdue_amounts(session, [task.loan_id for task, _, _ in rows], today)
    return [
        QueueRow(task, dpd, overdue.get(task.loan_id, Decimal("0.00")), email, pending.get(task.id))
        for task, dpd, email in rows
    ]


def admins(session: Session) -> list[User]:
    """Who a task may be assigned to."""
    return list(
        session.scalars(
            select(User).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)
        )
    )


def history(session: Session, task: CollectionTask) -> dict:
    """The loan's timeline steps, the task's notes and promises, oldest first."""
    return {
        "events": session.scalars(
            select(CollectionEvent)
            .where(CollectionEvent.loan_id == task.loan_id)
            .order_by(CollectionEvent.business_date, CollectionEvent.id)
        ).all(),
        "notes": session.scalars(
            select(CollectionNote)
            .where(CollectionNote.task_id == task.id)
            .order_by(CollectionNote.id)
        ).all(),
        "promises": session.scalars(
            select(PromiseToPay).where(PromiseToPay.task_id == task.id).order_by(PromiseToPay.id)
        ).all(),
    }


def _task(session: Session, task_id: int) -> CollectionTask:
    task = session.get(CollectionTask, task_id, with_for_update=True)
    if task is None:
        raise DomainError(f"No collections task #{task_id}.")
    return task


def assign(session: Session, task_id: int, assignee_id: int | None, admin_id: int):
    """Give the task to an admin (None: to nobody)."""
    task = _task(session, task_id)
    if assignee_id is not None and assignee_id not in {a.id for a in admins(session)}:
        raise ValidationFailed({"assignee_id": "Choose an active admin."})
    task.assignee_id = assignee_id
    activity.record(
        session, "collections.assigned", user_id=admin_id, entity=task, assignee_id=assignee_id
    )
    return task


def add_note(session: Session, task_id: int, admin_id: int, body: str) -> CollectionNote:
    """Keep what was said or done (never shown to lenders)."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed({"body": "Write the note."})
    if len(body) > 4000:
        raise ValidationFailed({"body": "Keep the note under 4,000 characters."})
    task = _task(session, task_id)
    note = CollectionNote(task_id=task.id, author_id=admin_id, body=body)
    session.add(note)
    session.flush()
    activity.record(session, "collections.noted", user_id=admin_id, entity=task, note_id=note.id)
    return note


def close(
    session: Session,
    task_id: int,
    admin_id: int,
    outcome: str,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
):
    """Record the task's outcome; it leaves the queue (a new step opens a new task). "Sent to
    a collection agency" places the (charged-off) loan with one at the policy's fee."""
    if outcome not in OUTCOMES:
        raise ValidationFailed({"outcome": "Choose an outcome."})
    task = _task(session, task_id)
    if task.state is TaskState.CLOSED:
        raise DomainError("This task is already closed.", field="outcome")
    if outcome == "sent_to_agency":
        agency.send(session, task.loan_id, admin_id, today, policy)
    task.state, task.outcome, task.closed_on = TaskState.CLOSED, outcome, today
    activity.record(session, "collections.closed", user_id=admin_id, entity=task, outcome=outcome)
    return task
