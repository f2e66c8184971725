"""The servicing cycle: installments fall due, grace, late fees, delinquency, charge-off, payoff."""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Installment,
    InstallmentStatus,
    Investment,
    InvestmentStatus,
    Loan,
    LoanStatus,
    ServicingRun,
    ServicingStatus,
)
from app.services.collections import timeline
from app.services.errors import DomainError
from app.services.lending import issuance
from app.services.money import ledger
from app.services.money.ledger import Leg
from app.services.money.money import ZERO
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing.allocation import OPEN
from app.services.trading import listings

SERVICED = "l.status = 'issued' AND l.servicing_status NOT IN ('charged_off', 'paid_off')"


def status_for(days_past_due: int, policy: LendingPolicy = DEFAULT_POLICY) -> ServicingStatus:
    """The delinquency bucket for a number of days past due."""
    if days_past_due <= 0:
        return ServicingStatus.CURRENT
    if days_past_due <= policy.grace_days:
        return ServicingStatus.GRACE
    if days_past_due <= 30:
        return ServicingStatus.LATE_16_30
    if days_past_due < policy.default_after_days:
        return ServicingStatus.LATE_31_120
    return ServicingStatus.DEFAULT


def _age_installments(session: Session, business_date: date, params: dict) -> dict:
    """Installments fall due, late fees are charged, delinquency moves (and borrowers hear)."""
    due = session.execute(
        text(
            "UPDATE installments SET status = 'due' WHERE status = 'scheduled' AND due_date <= :day"
        ),
        params,
    ).rowcount
    fees = session.execute(text(LATE_FEES), params).rowcount
    changed = [
        row for row in session.execute(text(DELINQUENCY), params) if row.was != row.servicing_status
    ]
    for row in changed:
        if row.servicing_status in STATUS_NEWS:
            title, body = STATUS_NEWS[row.servicing_status]
            notifications.notify(
                session,
                row.borrower_id,
                f"loan.{row.servicing_status}",
                title,
                body.format(id=row.id),
                link=("borrower.loan_show", {"loan_id": row.id}),
                dedupe_key=f"status-{row.id}-{row.servicing_status}-{business_date}",
            )
    return {"installments_due": due, "late_fees": fees, "status_changes": len(changed)}


def _charge_off_aged(session: Session, business_date: date, policy: LendingPolicy) -> int:
    """Charge off every serviced loan at or past the charge-off age; returns how many."""
    aged = session.scalars(
        text(
            f"SELECT l.id FROM loans l WHERE {SERVICED} AND l.days_past_due >= :age ORDER BY l.id"
        ),
        {"age": policy.charge_off_after_days},
    ).all()
    for loan_id in aged:
        charge_off(session, loan_id, business_date, reason="days past due")
    return len(aged)


def run_cycle(
    session: Session, business_date: date, policy: LendingPolicy = DEFAULT_POLICY, gateway=None
) -> dict:
    """The daily batch, once per business date (a second run returns the first run's figures).

    Set-based SQL: installments fall due, late fees at grace + 1 days (once per installment),
    delinquency buckets move; then loans past the charge-off age are charged off and listings
    past their deadline are issued or expired. With a payment `gateway`, the day's scheduled
    and autopay payments are collected after the installments fall due.
    """
    session.flush()
    run_id = session.execute(
        insert(ServicingRun)
        .values(business_date=business_date, started_at=datetime.now(UTC), stats={})
        .on_conflict_do_nothing(index_elements=["business_date"])
        .returning(ServicingRun.id)
    ).scalar_one_or_none()
    if run_id is None:
        return session.scalars(
            select(ServicingRun.stats).where(ServicingRun.business_date == business_date)
        ).one()
    stats = cycle_work(session, business_date, policy, gateway)
    run = session.get(ServicingRun, run_id)
    run.stats, run.finished_at = stats, datetime.now(UTC)
    session.flush()
    return stats


def cycle_work(
    session: Session, business_date: date, policy: LendingPolicy = DEFAULT_POLICY, gateway=None
) -> dict:
    """The cycle's work for a date without the once-per-date record: for replaying history
    (the demo book) over dates another replay already ran. Each step is idempotent by itself
    (a late fee once per installment, states recomputed from the dates)."""
    session.flush()
    params = {
        "day": business_date,
        "grace": policy.grace_days,
        "floor": policy.late_fee_floor,
        "pct": policy.late_fee_percent,
        "default_after": policy.default_after_days,
    }
    stats = {"business_date": business_date.isoformat()}
    stats.update(_age_installments(session, business_date, params))
    if gateway is not None:
        from app.services.servicing import scheduled_payments  # it applies through repayments

        stats.update(scheduled_payments.collect_due(session, gateway, business_date, policy))
    stats.update(timeline.run(session, business_date, policy))
    stats["charged_off"] = _charge_off_aged(session, business_date, policy)
    start_of_day = datetime.combine(business_date, time.min, tzinfo=UTC)
    stats.update(issuance.expire_listings(session, now=start_of_day, policy=policy))
    stats["note_listings_ended"] = listings.end_stale(session)
    from app.services.servicing import hardship_desk  # it applies plans through servicing

    stats["hardship_expired"] = hardship_desk.expire_stale(session, business_date, policy)
    session.flush()
    session.expire_all()  # set-based UPDATEs bypassed the identity map
    return stats


LATE_FEES = f"""
UPDATE installments i
   SET fee_due = i.fee_due + GREATEST(:floor, round_half_even(
           (i.principal_due + i.interest_due - i.principal_paid - i.interest_paid) * :pct / 100)),
       late_fee_assessed_on = :day,
       status = 'late'
  FROM loans l
 WHERE l.id = i.loan_id AND {SERVICED}
   AND i.status IN ('due', 'late') AND i.late_fee_assessed_on IS NULL
   AND i.due_date <= CAST(:day AS date) - (:grace + 1)
   AND i.principal_due + i.interest_due > i.principal_paid + i.interest_paid
"""

DELINQUENCY = f"""
WITH overdue AS (
    SELECT loan_id, min(due_date) AS oldest
      FROM installments
     WHERE status IN ('due', 'late') AND due_date < :day
     GROUP BY loan_id
), wanted AS (
    SELECT l.id, COALESCE(CAST(:day AS date) - o.oldest, 0) AS dpd, l.servicing_status AS was
      FROM loans l LEFT JOIN overdue o ON o.loan_id = l.id
     WHERE {SERVICED} AND (o.loan_id IS NOT NULL OR l.days_past_due <> 0)
)
UPDATE loans l
   SET days_past_due = w.dpd,
       servicing_status = CASE
           WHEN w.dpd <= 0 THEN 'current'
           WHEN w.dpd <= :grace THEN 'grace'
           WHEN w.dpd <= 30 THEN 'late_16_30'
           WHEN w.dpd < :default_after THEN 'late_31_120'
           ELSE 'default' END
  FROM wanted w
 WHERE l.id = w.id AND l.days_past_due IS DISTINCT FROM w.dpd
RETURNING l.id, l.borrower_id, w.was, l.servicing_status
"""

STATUS_NEWS = {
    "grace": (
        "Your payment is late",
        "We haven't received your payment for loan #{id}. Pay within "
        "15 days of the due date to avoid a late fee.",
    ),
    "late_16_30": (
        "A late fee was added",
        "Loan #{id} is more than 15 days past due and a late fee "
        "was added. Please pay as soon as you can.",
    ),
    "late_31_120": (
        "Your loan is seriously late",
        "Loan #{id} is more than 30 days past due. Contact us if you need a payment plan.",
    ),
    "default": ("Your loan is in default", "Loan #{id} is more than 120 days past due."),
    "current": ("Your loan is current again", "Thank you: loan #{id} is up to date."),
}


def refresh_delinquency(
    session: Session, loan: Loan, today: date, policy: LendingPolicy = DEFAULT_POLICY
) -> None:
    """Recompute one loan's days past due, bucket and next due date (after a payment)."""
    session.flush()
    oldest_unpaid, next_due = session.execute(
        select(
            func.min(Installment.due_date).filter(
                Installment.due_date < today, Installment.status != InstallmentStatus.SCHEDULED
            ),
            func.min(Installment.due_date),
        ).where(Installment.loan_id == loan.id, Installment.status.in_(OPEN))
    ).one()
    loan.days_past_due = (today - oldest_unpaid).days if oldest_unpaid else 0
    loan.servicing_status = status_for(loan.days_past_due, policy)
    loan.next_due_date = next_due


def settle_standing(
    session: Session, loan: Loan, today: date, policy: LendingPolicy = DEFAULT_POLICY
) -> None:
    """After money moved or a fee was forgiven: the loan is paid off when nothing at all is
    owed (unpaid late fees included), else its delinquency is recomputed."""
    session.flush()
    owed_fees = session.scalar(
        select(func.coalesce(func.sum(Installment.fee_due - Installment.fee_paid), 0)).where(
            Installment.loan_id == loan.id
        )
    )
    if loan.principal_outstanding == 0 and owed_fees == 0:
        close_paid_off(session, loan, today)
    else:
        refresh_delinquency(session, loan, today, policy)


def close_paid_off(session: Session, loan: Loan, today: date) -> None:
    """Everything is repaid: the loan and its notes close."""
    loan.servicing_status = ServicingStatus.PAID_OFF
    loan.days_past_due = 0
    loan.next_due_date = None
    loan.closed_at = datetime.combine(today, time.min, tzinfo=UTC)
    for note in session.scalars(
        select(Investment).where(
            Investment.loan_id == loan.id, Investment.status == InvestmentStatus.ACTIVE
        )
    ):
        if note.principal_outstanding != ZERO:
            raise DomainError(f"note {note.id} still holds principal at payoff")
        note.status = InvestmentStatus.PAID_OFF
    activity.record(session, "loan.paid_off", entity=loan, on=today.isoformat())


def can_charge_off(loan: Loan) -> bool:
    """Issued and still being repaid."""
    return loan.status is LoanStatus.ISSUED and loan.servicing_status not in (
        ServicingStatus.CHARGED_OFF,
        ServicingStatus.PAID_OFF,
    )


def noteholders(session: Session, loan_id: int) -> int:
    """How many lenders hold an active note of the loan."""
    return session.scalar(
        select(func.count(func.distinct(Investment.lender_id))).where(
            Investment.loan_id == loan_id, Investment.status == InvestmentStatus.ACTIVE
        )
    )


def charge_off(
    session: Session, loan_id: int, business_date: date, *, reason: str, admin_id: int | None = None
) -> Loan:
    """Write the notes' remaining principal over to the loan's credit-losses account.

    The borrower still owes it (the receivable stays): whatever is recovered later goes
    back to these noteholders, pro rata.
    """
    loan = session.get(Loan, loan_id, with_for_update=True, populate_existing=True)
    if loan is None or not can_charge_off(loan):
        raise DomainError(f"Loan #{loan_id} cannot be charged off now.")
    notes = list(
        session.scalars(
            select(Investment)
            .where(Investment.loan_id == loan.id, Investment.status == InvestmentStatus.ACTIVE)
            .order_by(Investment.id)
        )
    )
    note_accounts = ledger.accounts_for(
        session, AccountKind.NOTE_PRINCIPAL, "investment_id", [note.id for note in notes]
    )
    losses = ledger.account(session, AccountKind.CREDIT_LOSSES, loan_id=loan.id)
    total = loan.principal_outstanding
    legs = [Leg(note_accounts[note.id], note.principal_outstanding) for note in notes]
    if total:
        ledger.post(
            session,
            "charge_off",
            f"Loan #{loan.id} charged off: {reason}",
            [*legs, ledger.credit(losses, total)],
            idempotency_key=f"charge_off:loan:{loan.id}",
            loan_id=loan.id,
            user_id=admin_id,
            details={"reason": reason, "business_date": business_date.isoformat()},
        )
    for note in notes:
        note.status = InvestmentStatus.CHARGED_OFF
        note.principal_outstanding = ZERO
    loan.principal_outstanding = ZERO
    loan.servicing_status = ServicingStatus.CHARGED_OFF
    loan.closed_at = datetime.combine(business_date, time.min, tzinfo=UTC)
    activity.record(
        session,
        "loan.charged_off",
        user_id=admin_id,
        entity=loan,
        principal=str(total),
        reason=reason,
        days_past_due=loan.days_past_due,
    )
    session.flush()
    return loan


def waive_late_fee(
    session: Session, installment_id: int, admin_id: int, reason: str, today: date
) -> Installment:
    """Forgive the unpaid late fee on one installment (a hardship decision, with its reason)."""
    if not (reason or "").strip():
        raise DomainError("Say why the fee is waived.")
    installment = session.get(Installment, installment_id, with_for_update=True)
    if installment is None or installment.fee_due == installment.fee_paid:
        raise DomainError("There is no unpaid late fee on that installment.")
    waived = installment.fee_due - installment.fee_paid
    installment.fee_due = installment.fee_paid
    loan = session.get(Loan, installment.loan_id)
    settle_standing(session, loan, today)
    activity.record(
        session,
        "loan.late_fee_waived",
        user_id=admin_id,
        entity=loan,
        installment=installment.number,
        amount=str(waived),
        reason=reason,
    )
    return installment


def business_dates(start: date, end: date):
    """Every date from start to end inclusive (the cycle runs every calendar day)."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)
