"""Auto-invest strategies (a lender's standing orders) and portfolio exits (auto-sell)."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Money, TimestampMixin, str_enum


class InvestStrategy(TimestampMixin, Base):
    """Target grades and weights, limits, a cash reserve; run by the auto-invest sweep."""

    __tablename__ = "invest_strategies"
    __table_args__ = (
        CheckConstraint("amount_per_note > 0", name="note_positive"),
        CheckConstraint("max_per_loan >= amount_per_note", name="loan_cap_covers_note"),
        CheckConstraint("max_per_borrower >= amount_per_note", name="borrower_cap_covers_note"),
        CheckConstraint(
            "max_loan_share_percent > 0 AND max_loan_share_percent <= 100", name="share_valid"
        ),
        CheckConstraint("cash_reserve >= 0", name="reserve_not_negative"),
        CheckConstraint("max_markup_percent BETWEEN -100 AND 100", name="markup_sane"),
        Index("ix_invest_strategies_enabled_served", "enabled", "last_served_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    preset: Mapped[str | None] = mapped_column(String(20))
    # Target share of each grade in percent, e.g. {"A": 40, "B": 60}: summing to 100.
    grade_weights: Mapped[dict] = mapped_column(JSONB)
    terms: Mapped[list] = mapped_column(JSONB, default=list)  # empty: any term
    amount_per_note: Mapped[Money] = mapped_column(default=Decimal("25.00"))
    max_per_loan: Mapped[Money] = mapped_column(default=Decimal("100.00"))
    max_loan_share_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("5.00"))
    max_per_borrower: Mapped[Money] = mapped_column(default=Decimal("200.00"))
    cash_reserve: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    buy_secondary: Mapped[bool] = mapped_column(default=False, server_default="false")
    max_markup_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0.00"))
    reinvest_repayments: Mapped[bool] = mapped_column(default=True, server_default="true")
    # The sweep serves the strategy served longest ago first, so no lender is always first.
    last_served_at: Mapped[datetime | None]


class ExitStatus(enum.StrEnum):
    SELLING = "selling"
    CANCELLED = "cancelled"
    DONE = "done"  # nothing left to sell


class PortfolioExit(TimestampMixin, Base):
    """A lender leaving: every note listed at one markup (par or a discount), kept listed."""

    __tablename__ = "portfolio_exits"
    __table_args__ = (
        CheckConstraint("markup_percent BETWEEN -100 AND 0", name="par_or_discount"),
        Index(
            "uq_portfolio_exits_live_lender",
            "lender_id",
            unique=True,
            postgresql_where=text("status = 'selling'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    markup_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    status: Mapped[ExitStatus] = mapped_column(
        str_enum(ExitStatus, "exit_status"), default=ExitStatus.SELLING
    )
    notes_at_start: Mapped[int]
    finished_at: Mapped[datetime | None]
