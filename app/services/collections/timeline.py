"""The collection timeline, run by the daily cycle: set-based, each step once per loan and due date.

A step below day 0 (a reminder) is taken for each unpaid installment falling due within its
window; a step from day 0 on for each serviced loan whose days past due fall within its window,
counted from the oldest unpaid installment. A window runs from the step's day to the next step's
(the last positive step's to the charge-off day, and the charge-off step's on), so a day the
cycle missed is caught up by the next run, and a loan first seen far behind gets only its
current step. Rows are unique per (loan, due date, step): a rerun or replayed day inserts
nothing, and a loan paid up (0 days past due) takes no more steps.
"""

from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services.collections import promises
from app.services.collections.steps import CollectionStep
from app.services.platform import notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy

SERVICED = "l.status = 'issued' AND l.servicing_status NOT IN ('charged_off', 'paid_off')"
CHARGE_OFF = "charge_off"
NEVER = 1_000_000  # the last window's end

STEPS = """
SELECT * FROM unnest(CAST(:names AS text[]), CAST(:days AS int[]), CAST(:untils AS int[]),
                     CAST(:tasks AS boolean[]), CAST(:notifies AS boolean[]))
    AS s(name, day, until, task, notify)
"""

REMINDERS = f"""
WITH steps AS ({STEPS}), new AS (
    INSERT INTO collection_events (loan_id, due_date, step, business_date, created_at)
    SELECT DISTINCT i.loan_id, i.due_date, s.name, CAST(:day AS date), now()
      FROM installments i JOIN loans l ON l.id = i.loan_id
      JOIN steps s ON i.due_date - CAST(:day AS date) <= -s.day
                  AND i.due_date - CAST(:day AS date) > -s.until
     WHERE {SERVICED} AND s.day < 0 AND i.status = 'scheduled'
       AND i.due_date > CAST(:day AS date) AND i.due_date <= CAST(:day AS date) + :lead
       AND i.principal_due + i.interest_due > i.principal_paid + i.interest_paid
        ON CONFLICT (loan_id, due_date, step) DO NOTHING
    RETURNING loan_id, due_date, step
)
SELECT new.loan_id, new.due_date, new.step, s.notify, l.borrower_id,
       l.autopay_since IS NOT NULL AS autopay, 0 AS days_past_due,
       (SELECT sum(i.principal_due + i.interest_due - i.principal_paid - i.interest_paid)
          FROM installments i WHERE i.loan_id = new.loan_id AND i.due_date = new.due_date)
           AS amount
  FROM new JOIN steps s ON s.name = new.step JOIN loans l ON l.id = new.loan_id
 ORDER BY new.loan_id, new.due_date
"""

PAST_DUE = f"""
WITH steps AS ({STEPS}), new AS (
    INSERT INTO collection_events (loan_id, due_date, step, business_date, created_at)
    SELECT l.id, CAST(:day AS date) - l.days_past_due, s.name, CAST(:day AS date), now()
      FROM loans l JOIN steps s ON l.days_past_due >= s.day AND l.days_past_due < s.until
     WHERE {SERVICED} AND s.day >= 0 AND l.days_past_due > 0
        ON CONFLICT (loan_id, due_date, step) DO NOTHING
    RETURNING loan_id, due_date, step
), tasks AS (
    INSERT INTO collection_tasks (loan_id, state, step, opened_on, created_at, updated_at)
    SELECT new.loan_id, 'open', new.step, CAST(:day AS date), now(), now()
      FROM new JOIN steps s ON s.name = new.step
     WHERE s.task
        ON CONFLICT (loan_id) WHERE state <> 'closed'
        DO UPDATE SET step = EXCLUDED.step, updated_at = now()
)
SELECT new.loan_id, new.due_date, new.step, s.notify, l.borrower_id,
       l.autopay_since IS NOT NULL AS autopay, l.days_past_due,
       (SELECT sum(i.principal_due + i.interest_due + i.fee_due
                   - i.principal_paid - i.interest_paid - i.fee_paid)
          FROM installments i WHERE i.loan_id = new.loan_id AND i.status IN ('due', 'late')
           AND i.due_date < CAST(:day AS date)) AS amount
  FROM new JOIN steps s ON s.name = new.step JOIN loans l ON l.id = new.loan_id
 ORDER BY new.loan_id
"""

# Loans current again (or paid off) need no more chasing: their open tasks close.
CLOSE_CURED = """
UPDATE collection_tasks t SET state = 'closed', outcome = 'paid_up', closed_on = :day,
                              updated_at = now()
  FROM loans l
 WHERE l.id = t.loan_id AND t.state = 'open'
   AND (l.servicing_status = 'paid_off'
        OR (l.servicing_status NOT IN ('charged_off') AND l.days_past_due = 0))
"""

NEWS = {
    "reminder": (
        "Your payment is due on {due}",
        "{amount} for loan #{id} is due on {due}. Paying on time keeps your loan in good standing.",
    ),
    "reminder.autopay": (
        "We will collect your payment on {due}",
        "Autopay will collect {amount} for loan #{id} on {due}: please make sure your account "
        "can cover it.",
    ),
    "final_notice": (
        "Final notice on loan #{id}",
        "Loan #{id} is {dpd} past due with {amount} overdue. If it is not paid, the loan "
        "will be charged off on {charge_off_on} and may be sent to a collection agency.",
    ),
    CHARGE_OFF: (
        "Loan #{id} was charged off",
        "Loan #{id} is {dpd} past due and was charged off. You still owe the balance: "
        "contact us to arrange how to pay it.",
    ),
}
PAST_DUE_NEWS = (
    "Loan #{id} is {dpd} past due",
    "{amount} is overdue on loan #{id} (due {due}). Please pay as soon as you can, or contact "
    "us to arrange a plan.",
)


def steps_of(policy: LendingPolicy) -> list[CollectionStep]:
    """The policy's steps in day order, the charge-off step last."""
    steps = sorted(policy.collection_steps, key=lambda step: step.day)
    return [*steps, CollectionStep(policy.charge_off_after_days, CHARGE_OFF, task=True)]


def step_params(policy: LendingPolicy) -> dict:
    """The steps as arrays, each with the end of its window (the next step's day; a reminder's
    ends at day 0)."""
    steps = steps_of(policy)
    untils = []
    for index, step in enumerate(steps):
        later = steps[index + 1].day if index + 1 < len(steps) else NEVER
        untils.append(min(later, 0) if step.day < 0 else later)
    return {
        # The earliest reminder's lead: the due dates read off (status, due_date) as a range.
        "lead": max([-step.day for step in steps if step.day < 0], default=0),
        "names": [step.name for step in steps],
        "days": [step.day for step in steps],
        "untils": untils,
        "tasks": [step.task for step in steps],
        "notifies": [step.notify for step in steps],
    }


def run(session: Session, business_date: date, policy: LendingPolicy = DEFAULT_POLICY) -> dict:
    """Take the day's steps, tell the borrowers, check promises, close cured tasks."""
    session.flush()
    params = {"day": business_date, **step_params(policy)}
    taken = [*session.execute(text(REMINDERS), params), *session.execute(text(PAST_DUE), params)]
    notifications.notify_many(
        session, [_notice(row, business_date, policy) for row in taken if row.notify]
    )
    kept, broken = promises.check(session, business_date)
    closed = session.execute(text(CLOSE_CURED), {"day": business_date}).rowcount
    return {
        "collection_steps": len(taken),
        "promises_kept": kept,
        "promises_broken": broken,
        "collection_tasks_closed": closed,
    }


def _notice(row, business_date: date, policy: LendingPolicy) -> dict:
    """The borrower's notice of one step taken, in its words (autopay's own, if it has)."""
    step = "reminder" if row.days_past_due == 0 else row.step  # any step before the due date
    key = f"{step}.autopay" if row.autopay and f"{step}.autopay" in NEWS else step
    title, body = NEWS.get(key, PAST_DUE_NEWS)
    charge_off_on = row.due_date + timedelta(days=policy.charge_off_after_days)
    facts = {
        "id": row.loan_id,
        "amount": f"${row.amount or 0:,.2f}",
        "due": f"{row.due_date:%B} {row.due_date.day}, {row.due_date.year}",
        "dpd": f"{row.days_past_due} day{'' if row.days_past_due == 1 else 's'}",
        "charge_off_on": f"{charge_off_on:%B} {charge_off_on.day}, {charge_off_on.year}",
    }
    return {
        "user_id": row.borrower_id,
        "kind": f"collections.{row.step}",
        "title": title.format(**facts),
        "body": body.format(**facts),
        "link": ("borrower.loan_show", {"loan_id": row.loan_id}),
        "dedupe_key": f"collections-{row.loan_id}-{row.due_date}-{row.step}",
        "data": {
            "loan_id": row.loan_id,
            "step": row.step,
            "due_date": row.due_date.isoformat(),
            "amount": f"{row.amount or 0:.2f}",
            "business_date": business_date.isoformat(),
        },
    }
