"""Collections: the timeline's steps taken, the admins' tasks, their notes and promises to pay."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Money, TimestampMixin, str_enum, utcnow


class TaskState(enum.StrEnum):
    OPEN = "open"  # someone has to act
    PROMISED = "promised"  # waiting for a promised payment
    CLOSED = "closed"  # an outcome was recorded


class PromiseState(enum.StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"


class CollectionEvent(Base):
    """One step of the collection timeline taken for one loan (once per due date and step)."""

    __tablename__ = "collection_events"
    __table_args__ = (
        # A rerun or a replayed day inserts nothing twice.
        Index("uq_collection_events_step", "loan_id", "due_date", "step", unique=True),
        Index("ix_collection_events_business_date", "business_date"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    due_date: Mapped[date]  # of the installment the step counts from
    step: Mapped[str] = mapped_column(String(40))
    business_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class CollectionTask(TimestampMixin, Base):
    """A loan in the admins' collections queue (at most one not closed per loan)."""

    __tablename__ = "collection_tasks"
    __table_args__ = (
        Index(
            "uq_collection_tasks_active_loan",
            "loan_id",
            unique=True,
            postgresql_where=text("state <> 'closed'"),
        ),
        Index("ix_collection_tasks_state_assignee", "state", "assignee_id"),
        CheckConstraint(
            "(state = 'closed') = (outcome IS NOT NULL AND closed_on IS NOT NULL)",
            name="closed_with_outcome",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    state: Mapped[TaskState] = mapped_column(
        str_enum(TaskState, "collection_task_state"), default=TaskState.OPEN
    )
    step: Mapped[str] = mapped_column(String(40))  # the latest timeline step taken
    opened_on: Mapped[date]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(40))
    closed_on: Mapped[date | None]

    loan: Mapped["Loan"] = relationship()  # noqa: F821 - resolved by the registry
    assignee: Mapped["User | None"] = relationship()  # noqa: F821


class CollectionNote(Base):
    """An admin's note on a task, or the cycle's (author None), e.g. a promise broken."""

    __tablename__ = "collection_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("collection_tasks.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))

    author: Mapped["User | None"] = relationship()  # noqa: F821


class PromiseToPay(Base):
    """A borrower's promise, taken by an admin: `amount` paid from `made_on` to `pay_by`."""

    __tablename__ = "collection_promises"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("pay_by >= made_on", name="pay_by_not_before_made"),
        Index("ix_collection_promises_state_pay_by", "state", "pay_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("collection_tasks.id", ondelete="CASCADE"), index=True
    )
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    made_on: Mapped[date]
    pay_by: Mapped[date]
    amount: Mapped[Money]
    state: Mapped[PromiseState] = mapped_column(
        str_enum(PromiseState, "promise_state"), default=PromiseState.PENDING
    )
    resolved_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class AgencyPlacement(Base):
    """A charged-off loan sent to a collection agency: its recoveries pay `fee_percent` to it."""

    __tablename__ = "collection_agency_placements"
    __table_args__ = (CheckConstraint("fee_percent >= 0 AND fee_percent <= 100", name="fee_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"), unique=True)
    fee_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # the policy's on the day
    placed_on: Mapped[date]
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
