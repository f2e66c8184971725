"""Statements and tax documents as issued: one row per user, kind and period (see
services/statements)."""

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, str_enum, utcnow


class StatementKind(enum.StrEnum):
    LENDER_MONTH = "lender_month"  # the lender's monthly account statement
    LENDER_YEAR = "lender_year"  # the lender's year-end tax package
    BORROWER_MONTH = "borrower_month"  # the borrower's monthly loan statement
    BORROWER_YEAR = "borrower_year"  # the borrower's year-end interest statement


class AccountStatement(Base):
    """A statement's figures (JSON, money as strings with two decimals) and its CSV, written by
    the monthly or yearly job; the PDF is drawn on its first download and kept."""

    __tablename__ = "account_statements"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "period_start"),
        Index("ix_account_statements_kind_period_start", "kind", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    kind: Mapped[StatementKind] = mapped_column(str_enum(StatementKind, "statement_kind"))
    period_start: Mapped[date]  # the first business date of the period
    period_end: Mapped[date]  # the first business date after it
    figures: Mapped[dict] = mapped_column(JSONB)
    csv: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
