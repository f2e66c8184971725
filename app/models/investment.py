"""Lenders' notes (fractions of loans) and their preferences."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Money, TimestampMixin, str_enum
from app.models.loan import Loan


class InvestmentStatus(enum.StrEnum):
    COMMITTED = "committed"  # cash reserved while the loan lists
    ACTIVE = "active"  # the loan issued; the note earns
    REFUNDED = "refunded"  # the listing expired or was cancelled
    PAID_OFF = "paid_off"
    CHARGED_OFF = "charged_off"


class Investment(TimestampMixin, Base):
    """A lender's note in one loan."""

    __tablename__ = "investments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "principal_outstanding >= 0 AND principal_outstanding <= amount",
            name="principal_within_amount",
        ),
        Index("ix_investments_loan_id_status", "loan_id", "status"),
        Index("ix_investments_lender_id_status", "lender_id", "status"),
    )
    # Not a column: on a note `investing.invest` just placed, the loan as the placement left it
    # (an `investing.Reservation`), so its answer needs no read of the loan after COMMIT.
    reserved = None

    id: Mapped[int] = mapped_column(primary_key=True)
    # Deferrable: an investment checks it at COMMIT, after it holds the loan row (investing_sql).
    loan_id: Mapped[int] = mapped_column(
        ForeignKey("loans.id", ondelete="RESTRICT", deferrable=True, initially="IMMEDIATE")
    )
    lender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    amount: Mapped[Money]
    principal_outstanding: Mapped[Money] = mapped_column(
        default=Decimal("0.00"), server_default="0"
    )
    status: Mapped[InvestmentStatus] = mapped_column(
        str_enum(InvestmentStatus, "investment_status"), default=InvestmentStatus.COMMITTED
    )
    auto_invested: Mapped[bool] = mapped_column(default=False, server_default="false")
    auto_invest_reason: Mapped[str | None] = mapped_column(String(500))
    # The auto-invest strategy that bought it (its rule is in auto_invest_reason).
    strategy_id: Mapped[int | None] = mapped_column(
        ForeignKey("invest_strategies.id", ondelete="SET NULL")
    )

    loan: Mapped[Loan] = relationship()
    lender: Mapped["User"] = relationship()  # noqa: F821 - resolved by the registry


class RiskTolerance(enum.StrEnum):
    CONSERVATIVE = "conservative"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"


class LenderPreference(TimestampMixin, Base):
    """What a lender wants to see recommended, and the auto-invest rules."""

    __tablename__ = "lender_preferences"
    __table_args__ = (
        CheckConstraint(
            "min_note_amount > 0 AND max_note_amount >= min_note_amount", name="note_range_valid"
        ),
        CheckConstraint("auto_amount_per_note > 0", name="auto_amount_positive"),
        CheckConstraint("auto_max_per_loan >= auto_amount_per_note", name="auto_max_covers_note"),
        CheckConstraint("auto_cash_cap >= 0", name="auto_cap_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    risk_tolerance: Mapped[RiskTolerance] = mapped_column(
        str_enum(RiskTolerance, "risk_tolerance"), default=RiskTolerance.BALANCED
    )
    min_note_amount: Mapped[Money] = mapped_column(default=Decimal("25.00"))
    max_note_amount: Mapped[Money] = mapped_column(default=Decimal("500.00"))
    terms: Mapped[list] = mapped_column(JSONB, default=list)
    purposes: Mapped[list] = mapped_column(JSONB, default=list)
    grades: Mapped[list] = mapped_column(JSONB, default=list)
    auto_invest_enabled: Mapped[bool] = mapped_column(default=False, server_default="false")
    auto_amount_per_note: Mapped[Money] = mapped_column(default=Decimal("25.00"))
    auto_max_per_loan: Mapped[Money] = mapped_column(default=Decimal("100.00"))
    auto_cash_cap: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    auto_invest_updated_at: Mapped[datetime | None]
