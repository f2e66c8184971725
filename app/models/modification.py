"""Hardship plans: a borrower's request to change a loan, an admin's offer, the borrower's yes."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Money, TimestampMixin, str_enum, utcnow
from app.models.loan import Loan


class ModificationKind(enum.StrEnum):
    HOLIDAY = "holiday"  # 1-3 installments deferred to the end
    REAMORTISATION = "reamortisation"  # a lower payment over a longer term
    RATE_REDUCTION = "rate_reduction"  # a lower rate for some months
    SETTLEMENT = "settlement"  # a lump sum closes the loan; the rest is charged off


class ModificationState(enum.StrEnum):
    REQUESTED = "requested"  # the borrower asked; an admin decides
    OFFERED = "offered"  # an admin approved these terms; the borrower decides
    ACCEPTED = "accepted"  # a settlement the borrower agreed to, waiting for its lump sum
    APPLIED = "applied"  # the borrower accepted and the loan changed
    DECLINED = "declined"  # by an admin, or by the borrower
    WITHDRAWN = "withdrawn"  # the borrower took the request back
    EXPIRED = "expired"  # the offer was not accepted in time, or the loan moved on


OPEN_STATES = (ModificationState.REQUESTED, ModificationState.OFFERED, ModificationState.ACCEPTED)


class LoanModification(TimestampMixin, Base):
    """One hardship plan for one loan, with the schedules before and after."""

    __tablename__ = "loan_modifications"
    __table_args__ = (
        # At most one open request per loan.
        Index(
            "uq_loan_modifications_open_loan",
            "loan_id",
            unique=True,
            postgresql_where=text("state IN ('requested', 'offered', 'accepted')"),
        ),
        Index("ix_loan_modifications_state_created_at", "state", "created_at"),
        Index("ix_loan_modifications_loan_id_kind", "loan_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    kind: Mapped[ModificationKind] = mapped_column(str_enum(ModificationKind, "modification_kind"))
    state: Mapped[ModificationState] = mapped_column(
        str_enum(ModificationState, "modification_state"), default=ModificationState.REQUESTED
    )
    terms: Mapped[dict] = mapped_column(JSONB)  # the plan's parameters, money as strings
    old_schedule: Mapped[list | None] = mapped_column(JSONB)  # open installments when offered
    new_schedule: Mapped[list | None] = mapped_column(JSONB)
    cost_difference: Mapped[Money | None]  # total the borrower pays: new schedule - old
    reason: Mapped[str] = mapped_column(Text)  # the borrower's
    decision_reason: Mapped[str | None] = mapped_column(Text)  # the admin's, or the borrower's no
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    approved_at: Mapped[datetime | None]
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    accepted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]  # declined, withdrawn or expired

    loan: Mapped[Loan] = relationship()
