"""Promises to pay: taken by an admin on a task, checked by the daily cycle.

A promise is kept once the loan's succeeded payments received from the day it was made total
its amount; it is broken when its pay-by date has passed without that. Kept closes its task;
broken reopens it (or, when the loan has another task not closed, leaves that one) and says so
in a note.
"""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import (
    CollectionNote,
    CollectionTask,
    Installment,
    InstallmentStatus,
    Loan,
    PromiseToPay,
    ServicingStatus,
    TaskState,
)
from app.services.collections import agency
from app.services.errors import DomainError, ValidationFailed
from app.services.money.money import cents
from app.services.platform import activity
from app.services.policy import DEFAULT_POLICY, LendingPolicy

RESOLVE = """
WITH paid AS (
    SELECT p.id, coalesce(sum(m.amount), 0) AS total
      FROM collection_promises p
      LEFT JOIN payments m ON m.loan_id = p.loan_id AND m.status = 'succeeded'
                          AND m.received_on >= p.made_on AND m.received_on <= :day
     WHERE p.state = 'pending'
     GROUP BY p.id
)
UPDATE collection_promises p
   SET state = CASE WHEN paid.total >= p.amount THEN 'kept' ELSE 'broken' END,
       resolved_on = :day
  FROM paid
 WHERE p.id = paid.id AND (paid.total >= p.amount OR p.pay_by < :day)
RETURNING p.id, p.task_id, p.loan_id, p.state, p.amount, p.pay_by, paid.total
"""

KEPT = """
UPDATE collection_tasks SET state = 'closed', outcome = 'promise_kept', closed_on = :day,
                            updated_at = now()
 WHERE id = ANY(CAST(:ids AS int[])) AND state = 'promised'
"""

# Reopened unless the loan has another task not closed (then that one carries on).
BROKEN = """
UPDATE collection_tasks t SET state = 'open', outcome = NULL, closed_on = NULL, updated_at = now()
 WHERE t.id = ANY(CAST(:ids AS int[])) AND t.state <> 'open'
   AND NOT EXISTS (SELECT 1 FROM collection_tasks o WHERE o.loan_id = t.loan_id
                     AND o.id <> t.id AND o.state <> 'closed')
"""


def check(session: Session, business_date: date) -> tuple[int, int]:
    """Mark the day's kept and broken promises and move their tasks; (kept, broken)."""
    resolved = session.execute(text(RESOLVE), {"day": business_date}).all()
    kept = [row.task_id for row in resolved if row.state == "kept"]
    broken = [row for row in resolved if row.state == "broken"]
    if not resolved:  # most days: nothing to mark, no statements to send
        return 0, 0
    session.execute(text(KEPT), {"ids": kept, "day": business_date})
    session.execute(text(BROKEN), {"ids": [row.task_id for row in broken]})
    for row in broken:
        session.add(
            CollectionNote(
                task_id=row.task_id,
                body=f"Promise broken: ${row.amount:,.2f} by {row.pay_by.isoformat()}, "
                f"${row.total:,.2f} received. The task is open again.",
            )
        )
    for row in resolved:
        activity.record(
            session,
            f"collections.promise_{row.state}",
            entity=session.get(CollectionTask, row.task_id),
            promise_id=row.id,
            loan_id=row.loan_id,
            amount=str(row.amount),
            received=str(row.total),
        )
    session.flush()
    return len(kept), len(broken)


def owed(session: Session, loan: Loan) -> Decimal:
    """What the borrower owes now: principal outstanding (for a charged-off loan, what is left
    to recover) plus unpaid interest and fees on installments already due."""
    unpaid = session.scalar(
        select(
            func.coalesce(
                func.sum(
                    Installment.interest_due
                    + Installment.fee_due
                    - Installment.interest_paid
                    - Installment.fee_paid
                ),
                0,
            )
        ).where(
            Installment.loan_id == loan.id,
            Installment.status.in_((InstallmentStatus.DUE, InstallmentStatus.LATE)),
        )
    )
    if loan.servicing_status is ServicingStatus.CHARGED_OFF:
        return agency.recoverable(session, loan.id)
    return loan.principal_outstanding + unpaid


def record(
    session: Session,
    task_id: int,
    admin_id: int,
    *,
    pay_by: date | None,
    amount: Decimal | None,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> PromiseToPay:
    """Take a promise on an open task: pay-by within the policy's window, amount within what is
    owed. The task then waits for it."""
    task = session.get(CollectionTask, task_id, with_for_update=True)
    if task is None or task.state is TaskState.CLOSED:
        raise DomainError("This task is closed: reopen it by a new step or promise.")
    loan = session.get(Loan, task.loan_id)
    _check(pay_by, amount, today, owed(session, loan), policy)
    promise = PromiseToPay(
        task_id=task.id,
        loan_id=loan.id,
        admin_id=admin_id,
        made_on=today,
        pay_by=pay_by,
        amount=amount,
    )
    session.add(promise)
    task.state = TaskState.PROMISED
    session.flush()
    activity.record(
        session,
        "collections.promise_recorded",
        user_id=admin_id,
        entity=task,
        promise_id=promise.id,
        pay_by=pay_by.isoformat(),
        amount=str(amount),
    )
    return promise


def _check(pay_by, amount, today: date, owed_now: Decimal, policy: LendingPolicy) -> None:
    errors = {}
    last = today + timedelta(days=policy.promise_window_days)
    if pay_by is None or not today <= pay_by <= last:
        errors["pay_by"] = f"Choose a date from {today.isoformat()} to {last.isoformat()}."
    if amount is None or amount <= 0 or amount != cents(amount):
        errors["amount"] = "Enter an amount in dollars and cents above zero."
    elif amount > owed_now:
        errors["amount"] = f"The borrower owes ${owed_now:,.2f}: promise at most that."
    if errors:
        raise ValidationFailed(errors)
