"""What a loan's noteholders see of its collections: the steps taken and when, and what agencies
took from their recoveries. Never a note's text, a name, a phone number or an email address."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AgencyPlacement,
    CollectionEvent,
    CollectionTask,
    PaymentAllocation,
    PromiseState,
    PromiseToPay,
)

LABELS = {
    "day_30_call": "Call task opened",
    "final_notice": "Final notice sent",
    "charge_off": "Charged off",
}


@dataclass(frozen=True)
class Recoveries:
    recovered: Decimal  # the notes' share of what was recovered
    agency_fees: Decimal
    servicing_fees: Decimal

    @property
    def received(self) -> Decimal:
        return self.recovered - self.agency_fees - self.servicing_fees


def label(step: str) -> str:
    """ "day_7_notice" reads "Day 7 notice sent"; a step the policy added, by its name."""
    if step in LABELS:
        return LABELS[step]
    words = step.replace("_", " ").capitalize()
    return f"{words} sent" if words.endswith("notice") else words


def activity(session: Session, loan_id: int) -> list[tuple[date, str]]:
    """The loan's collection activity, oldest first, as (date, what happened)."""
    rows = [
        (event.business_date, label(event.step))
        for event in session.scalars(
            select(CollectionEvent).where(
                CollectionEvent.loan_id == loan_id,
                CollectionEvent.business_date > CollectionEvent.due_date,  # not reminders
            )
        )
    ]
    for promise in session.scalars(select(PromiseToPay).where(PromiseToPay.loan_id == loan_id)):
        rows.append((promise.made_on, "Promise to pay recorded"))
        if promise.state is PromiseState.KEPT:
            rows.append((promise.resolved_on, "Promise kept"))
        elif promise.state is PromiseState.BROKEN:
            rows.append((promise.resolved_on, "Promise broken"))
    for task in session.scalars(select(CollectionTask).where(CollectionTask.loan_id == loan_id)):
        if task.closed_on is not None:
            rows.append((task.closed_on, "Collections closed"))
    placed = session.scalar(
        select(AgencyPlacement.placed_on).where(AgencyPlacement.loan_id == loan_id)
    )
    if placed is not None:
        rows.append((placed, "Sent to a collection agency"))
    return sorted(rows, key=lambda row: row[0])


def recoveries(session: Session, note_ids: list[int]) -> Recoveries:
    """What these notes recovered after charge-off, and what came off it."""
    total = [
        func.coalesce(func.sum(column), 0)
        for column in (
            PaymentAllocation.recovery,
            PaymentAllocation.agency_fee,
            PaymentAllocation.servicing_fee,
        )
    ]
    recovered, agency_fees, servicing_fees = session.execute(
        select(*total).where(
            PaymentAllocation.investment_id.in_(note_ids), PaymentAllocation.recovery > 0
        )
    ).one()
    return Recoveries(recovered, agency_fees, servicing_fees)
