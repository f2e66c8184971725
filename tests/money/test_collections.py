"""Collections: the timeline run by the daily cycle, promises to pay, the agency fee on recoveries.

Expected steps and splits come from `tests/reference/collections.py` (the rules as written in
docs/lending-rules.md), never from the product's own arrays.
"""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.background import jobs
from app.extensions import db
from app.models import (
    CollectionEvent,
    CollectionNote,
    CollectionTask,
    Installment,
    Notification,
    PaymentAllocation,
    PromiseState,
    ServicingStatus,
    TaskState,
)
from app.services.collections import agency, promises
from app.services.collections.steps import CollectionStep
from app.services.errors import ValidationFailed
from app.services.money import cash, ledger
from app.services.policy import DEFAULT_POLICY
from app.services.servicing import repayments, servicing
from app.services.servicing.servicing import business_dates, cycle_work, run_cycle
from tests.builders import assert_ledger_balances, issued_loan, key
from tests.reference import collections as reference

D = Decimal
ISSUED = date(2024, 1, 15)


def _events(loan):
    return {
        (e.step, e.business_date)
        for e in db.session.scalars(
            select(CollectionEvent).where(CollectionEvent.loan_id == loan.id)
        )
    }


def _due_dates(loan):
    return db.session.scalars(
        select(Installment.due_date)
        .where(Installment.loan_id == loan.id)
        .order_by(Installment.number)
    ).all()


def _task(loan):
    return db.session.scalars(
        select(CollectionTask)
        .where(CollectionTask.loan_id == loan.id)
        .order_by(CollectionTask.id.desc())
    ).first()


def _run(start, end, policy=DEFAULT_POLICY):
    for day in business_dates(start, end):
        run_cycle(db.session, day, policy)


def test_a_silent_loan_meets_every_step_once_on_its_day_until_charge_off():
    loan, _ = issued_loan(["1000", "3000"])
    first_due = _due_dates(loan)[0]
    charge_off_on = first_due + timedelta(days=DEFAULT_POLICY.charge_off_after_days)
    _run(first_due - timedelta(days=5), charge_off_on + timedelta(days=3))
    steps = [(-3, "reminder"), (1, "day_1_notice"), (7, "day_7_notice"), (15, "day_15_notice")]
    steps += [(30, "day_30_call"), (60, "final_notice")]
    wanted = reference.timeline_days(_due_dates(loan), first_due, steps, 150)
    assert _events(loan) == wanted
    rows = db.session.scalars(
        select(CollectionEvent).where(CollectionEvent.loan_id == loan.id)
    ).all()
    assert len(rows) == len(wanted)  # once each
    assert loan.servicing_status is ServicingStatus.CHARGED_OFF
    assert _task(loan).step == "charge_off" and _task(loan).state is TaskState.OPEN
    day_7 = first_due + timedelta(days=7)
    cycle_work(db.session, day_7)  # a replayed day
    assert len(db.session.scalars(select(CollectionEvent)).all()) == len(wanted)
    told = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == loan.borrower_id)
    ).all()
    assert told.count("collections.day_30_call") == 0  # the call step tells nobody
    assert told.count("collections.final_notice") == 1


def test_a_loan_paid_up_takes_no_more_steps_and_its_task_closes():
    loan, _ = issued_loan(["1000", "3000"])
    first_due, second_due = _due_dates(loan)[:2]
    _run(first_due - timedelta(days=5), first_due + timedelta(days=9))
    assert _task(loan).state is TaskState.OPEN and _task(loan).step == "day_7_notice"
    paid_on = first_due + timedelta(days=10)
    owed = promises.owed(db.session, loan) - loan.principal_outstanding
    overdue = db.session.get(Installment, loan.installments[0].id)
    repayments.apply_payment(
        db.session,
        loan.id,
        overdue.principal_due + owed,
        received_on=paid_on,
        idempotency_key=key(),
    )
    _run(paid_on, second_due - timedelta(days=1))
    assert loan.days_past_due == 0
    assert _events(loan) == {
        ("reminder", first_due - timedelta(days=3)),
        ("day_1_notice", first_due + timedelta(days=1)),
        ("day_7_notice", first_due + timedelta(days=7)),
        ("reminder", second_due - timedelta(days=3)),
    }
    task = _task(loan)
    assert task.state is TaskState.CLOSED and task.outcome == "paid_up"


def test_the_timeline_is_the_policys_data():
    policy = replace(
        DEFAULT_POLICY,
        collection_steps=(CollectionStep(2, "nudge", task=True), CollectionStep(5, "shout")),
    )
    loan, _ = issued_loan(["1000"])
    first_due = _due_dates(loan)[0]
    _run(first_due - timedelta(days=5), first_due + timedelta(days=8), policy)
    assert _events(loan) == {
        ("nudge", first_due + timedelta(days=2)),
        ("shout", first_due + timedelta(days=5)),
    }
    assert _task(loan).step == "nudge"  # "shout" does not touch the task


def test_borrowers_get_the_steps_by_email_autopay_in_its_own_words(smtp):
    loan, _ = issued_loan(["1000"])
    other, _ = issued_loan(["1000"])
    other.autopay_since = other.issued_at
    first_due = _due_dates(loan)[0]
    _run(first_due - timedelta(days=3), first_due - timedelta(days=3))
    run_cycle(db.session, first_due + timedelta(days=1))  # `other`'s autopay has no gateway here
    jobs.relay()
    mail = {(tuple(to), message["Subject"]) for to, message in smtp.messages}
    when = f"{first_due:%B} {first_due.day}, {first_due.year}"
    assert ((loan.borrower.email,), f"CommunityLend: Your payment is due on {when}") in mail
    assert (
        (other.borrower.email,),
        f"CommunityLend: We will collect your payment on {when}",
    ) in mail
    notice = f"CommunityLend: Loan #{loan.id} is 1 day past due"
    assert ((loan.borrower.email,), notice) in mail
    bodies = [smtp.text_of(i) for i in range(len(smtp.messages))]
    assert any("Autopay will collect" in body for body in bodies)


def _late_task(days_late=10):
    loan, _ = issued_loan(["1000", "3000"])
    first_due = _due_dates(loan)[0]
    today = first_due + timedelta(days=days_late)
    _run(first_due + timedelta(days=1), today)
    return loan, _task(loan), today


def test_a_kept_promise_closes_the_task():
    loan, task, today = _late_task()
    admin = loan.borrower  # any user id will do for the service
    promise = promises.record(
        db.session,
        task.id,
        admin.id,
        pay_by=today + timedelta(days=5),
        amount=D("200.00"),
        today=today,
    )
    assert task.state is TaskState.PROMISED
    repayments.apply_payment(
        db.session,
        loan.id,
        D("120.00"),
        received_on=today + timedelta(days=1),
        idempotency_key=key(),
    )
    _run(today + timedelta(days=1), today + timedelta(days=1))
    assert promise.state is PromiseState.PENDING  # $120 of $200 so far
    repayments.apply_payment(
        db.session,
        loan.id,
        D("80.00"),
        received_on=today + timedelta(days=3),
        idempotency_key=key(),
    )
    _run(today + timedelta(days=2), today + timedelta(days=3))
    db.session.refresh(promise)
    db.session.refresh(task)
    assert promise.state is PromiseState.KEPT and promise.resolved_on == today + timedelta(days=3)
    assert task.state is TaskState.CLOSED and task.outcome == "promise_kept"


def test_a_broken_promise_reopens_the_task_with_a_note():
    loan, task, today = _late_task()
    pay_by = today + timedelta(days=4)
    promise = promises.record(
        db.session, task.id, loan.borrower_id, pay_by=pay_by, amount=D("50.00"), today=today
    )
    repayments.apply_payment(
        db.session,
        loan.id,
        D("49.99"),
        received_on=today + timedelta(days=2),
        idempotency_key=key(),
    )
    _run(today + timedelta(days=1), pay_by)
    db.session.refresh(promise)
    assert promise.state is PromiseState.PENDING  # the day itself still counts
    _run(pay_by + timedelta(days=1), pay_by + timedelta(days=1))
    db.session.refresh(promise)
    db.session.refresh(task)
    assert promise.state is PromiseState.BROKEN and task.state is TaskState.OPEN
    note = db.session.scalars(select(CollectionNote).where(CollectionNote.task_id == task.id)).one()
    assert "Promise broken" in note.body and "$49.99 received" in note.body


def test_a_promise_outside_the_window_or_above_what_is_owed_is_refused():
    loan, task, today = _late_task()
    owed = promises.owed(db.session, loan)
    with pytest.raises(ValidationFailed) as refused:
        promises.record(
            db.session,
            task.id,
            loan.borrower_id,
            pay_by=today + timedelta(days=31),
            amount=owed + D("0.01"),
            today=today,
        )
    assert set(refused.value.errors) == {"pay_by", "amount"}
    with pytest.raises(ValidationFailed) as refused:
        promises.record(
            db.session,
            task.id,
            loan.borrower_id,
            pay_by=today - timedelta(days=1),
            amount=D("0"),
            today=today,
        )
    assert set(refused.value.errors) == {"pay_by", "amount"}
    promises.record(
        db.session,
        task.id,
        loan.borrower_id,
        pay_by=today + timedelta(days=30),
        amount=owed,
        today=today,
    )


NOTES = ["25", "50", "125", "300", "9500"]


def test_an_agency_fee_comes_off_each_recovery_before_the_pro_rata_split():
    loan, notes = issued_loan(NOTES)
    servicing.charge_off(db.session, loan.id, date(2024, 3, 1), reason="bankruptcy")
    placement = agency.send(db.session, loan.id, loan.borrower_id, date(2024, 3, 2))
    assert placement.fee_percent == D("20")
    weights = {note.id: D(amount) for note, amount in zip(notes, NOTES, strict=True)}
    before = {}
    for amount, day in ((D("333.33"), date(2024, 4, 1)), (D("57.05"), date(2024, 5, 1))):
        wanted = reference.recovery(amount, D("20"), D("1"), weights, before)
        cash_before = {n.id: cash.available_cash(db.session, n.lender_id) for n in notes}
        payment = repayments.apply_payment(
            db.session, loan.id, amount, received_on=day, idempotency_key=key()
        )
        rows = {
            r.investment_id: (r.recovery, r.agency_fee, r.servicing_fee)
            for r in db.session.scalars(
                select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)
            )
        }
        assert rows == {k: v[:3] for k, v in wanted.items()}
        for note in notes:
            got = cash.available_cash(db.session, note.lender_id) - cash_before[note.id]
            assert got == wanted[note.id][3]
        for k, v in wanted.items():
            old = before.get(k, (D(0), D(0)))
            before[k] = (old[0] + v[0], old[1] + v[1])
    assert sum(v[1] for v in before.values()) == D("66.67") + D("11.41")
    assert agency.account(db.session).balance == -(D("66.67") + D("11.41"))
    assert ledger.balance_of(
        db.session, ledger.AccountKind.LOAN_RECEIVABLE, loan_id=loan.id
    ) == loan.amount - D("390.38")
    assert_ledger_balances()


def test_recoveries_of_loans_not_sent_to_an_agency_pay_no_agency_fee():
    loan, notes = issued_loan(["1000", "3000"])
    servicing.charge_off(db.session, loan.id, date(2024, 3, 1), reason="bankruptcy")
    payment = repayments.apply_payment(
        db.session, loan.id, D("400.00"), received_on=date(2024, 4, 1), idempotency_key=key()
    )
    fees = db.session.scalars(
        select(PaymentAllocation.agency_fee).where(PaymentAllocation.payment_id == payment.id)
    ).all()
    assert fees == [D("0.00"), D("0.00")]
    assert_ledger_balances()


def test_a_recovery_in_a_settlement_file_pays_the_agency_as_apply_payment_does():
    """settlement_sql takes only current loans; a recovery row goes one by one, through the
    same split (so the two payment paths cannot disagree)."""
    from app.services.servicing import settlement

    loan, notes = issued_loan(NOTES)
    servicing.charge_off(db.session, loan.id, date(2024, 3, 1), reason="bankruptcy")
    agency.send(db.session, loan.id, loan.borrower_id, date(2024, 3, 2))
    row = settlement.SettlementRow(loan.id, D("333.33"), key())
    result = settlement.settle(db.session, [row], date(2024, 4, 1))
    assert (result.together, result.one_by_one, result.refused) == (0, 1, [])
    weights = {note.id: D(amount) for note, amount in zip(notes, NOTES, strict=True)}
    wanted = reference.recovery(D("333.33"), D("20"), D("1"), weights, {})
    rows = {
        r.investment_id: (r.recovery, r.agency_fee, r.servicing_fee)
        for r in db.session.scalars(select(PaymentAllocation))
    }
    assert rows == {k: v[:3] for k, v in wanted.items()}
    assert_ledger_balances()


def test_g20_the_published_agency_fee_example():
    """docs/lending-rules.md, G20, figures worked by hand."""
    loan, notes = issued_loan(["2000", "3000", "5000"])
    servicing.charge_off(db.session, loan.id, date(2024, 3, 1), reason="bankruptcy")
    tasks_close_as_agency(loan)
    cash_before = [cash.available_cash(db.session, n.lender_id) for n in notes]
    payment = repayments.apply_payment(
        db.session, loan.id, D("1234.57"), received_on=date(2024, 4, 1), idempotency_key=key()
    )
    rows = db.session.scalars(
        select(PaymentAllocation)
        .where(PaymentAllocation.payment_id == payment.id)
        .order_by(PaymentAllocation.investment_id)
    ).all()
    assert [r.recovery for r in rows] == [D("246.91"), D("370.37"), D("617.29")]
    assert [r.agency_fee for r in rows] == [D("49.38"), D("74.07"), D("123.46")]
    assert [r.servicing_fee for r in rows] == [D("1.98"), D("2.96"), D("4.94")]
    received = [
        cash.available_cash(db.session, n.lender_id) - b
        for n, b in zip(notes, cash_before, strict=True)
    ]
    assert received == [D("195.55"), D("293.34"), D("488.89")]
    assert agency.account(db.session).balance == D("-246.91")


def tasks_close_as_agency(loan):
    """The admin's way to place a loan: a task closed with the outcome "sent_to_agency"."""
    from app.services.collections import tasks

    task = CollectionTask(loan_id=loan.id, step="charge_off", opened_on=date(2024, 3, 1))
    db.session.add(task)
    db.session.flush()
    tasks.close(db.session, task.id, loan.borrower_id, "sent_to_agency", date(2024, 3, 2))
    assert agency.fee_percent(db.session, loan.id) == D("20")


def test_a_missed_cycle_day_is_caught_up_and_a_loan_first_seen_late_gets_only_its_step():
    loan, _ = issued_loan(["1000"])
    first_due = _due_dates(loan)[0]
    _run(first_due + timedelta(days=1), first_due + timedelta(days=6))
    _run(first_due + timedelta(days=8), first_due + timedelta(days=8))  # day 7 never ran
    assert ("day_7_notice", first_due + timedelta(days=8)) in _events(loan)
    other, _ = issued_loan(["1000"])
    other_due = _due_dates(other)[0]
    late_day = other_due + timedelta(days=40)
    assert late_day > first_due + timedelta(days=8)
    _run(late_day, late_day)
    assert _events(other) == {("day_30_call", late_day)}
