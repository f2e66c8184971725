"""The secondary market: a lender's note offered for sale, and the trades that move notes."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Money, TimestampMixin, str_enum, utcnow
from app.models.investment import Investment
from app.models.loan import ServicingStatus


class ListingStatus(enum.StrEnum):
    LISTED = "listed"  # for sale now
    SOLD = "sold"
    CANCELLED = "cancelled"  # the seller took it back
    ENDED = "ended"  # the loan's state changed: paid off, charged off or worse than listed


class NoteListing(TimestampMixin, Base):
    """One whole note offered at a markup (or discount) on its principal and accrued interest."""

    __tablename__ = "note_listings"
    __table_args__ = (
        CheckConstraint("markup_percent BETWEEN -100 AND 100", name="markup_sane"),
        # One live listing per note: a note cannot be offered twice.
        Index(
            "uq_note_listings_live_note",
            "investment_id",
            unique=True,
            postgresql_where=text("status = 'listed'"),
        ),
        Index("ix_note_listings_status_id", "status", "id"),
        Index("ix_note_listings_seller_id_status", "seller_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    investment_id: Mapped[int] = mapped_column(ForeignKey("investments.id", ondelete="RESTRICT"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    markup_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    status: Mapped[ListingStatus] = mapped_column(
        str_enum(ListingStatus, "listing_status"), default=ListingStatus.LISTED
    )
    # The loan's state when listed: a listing ends if it gets worse.
    listed_loan_status: Mapped[ServicingStatus] = mapped_column(
        str_enum(ServicingStatus, "listed_loan_status")
    )
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))

    note: Mapped[Investment] = relationship()


class NoteTrade(Base):
    """A sale: the buyer paid `price` (principal + accrued interest + premium); the seller paid
    `fee`. The note's receipts belong to the buyer from `traded_at`."""

    __tablename__ = "note_trades"
    __table_args__ = (
        CheckConstraint("buyer_id <> seller_id", name="not_to_oneself"),
        CheckConstraint("price > 0 AND fee >= 0 AND principal > 0", name="amounts_valid"),
        CheckConstraint("premium = price - principal - accrued_interest", name="premium_adds_up"),
        Index("ix_note_trades_investment_id_traded_at", "investment_id", "traded_at", unique=True),
        Index("ix_note_trades_seller_id", "seller_id"),
        Index("ix_note_trades_buyer_id", "buyer_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("note_listings.id", ondelete="RESTRICT"), unique=True
    )
    investment_id: Mapped[int] = mapped_column(ForeignKey("investments.id", ondelete="RESTRICT"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    trade_date: Mapped[date]  # the day interest is accrued to
    principal: Mapped[Money]
    accrued_interest: Mapped[Money]
    markup_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    premium: Mapped[Money]  # price less principal and accrued interest (negative: a discount)
    price: Mapped[Money]
    fee: Mapped[Money]
    # What the seller paid over principal and accrued when they bought the note (0 if at issue).
    seller_cost_premium: Mapped[Money]
    realised_gain: Mapped[Money]  # the seller's: premium - fee - seller_cost_premium
    seller_held_since: Mapped[datetime]
    traded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Deferred: the trade is written before its entry, whose accounts are the hottest rows.
    journal_entry_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey(
            "journal_entries.id", ondelete="RESTRICT", deferrable=True, initially="DEFERRED"
        ),
    )
    # Bought by an auto-invest strategy: which, and by what rule.
    strategy_id: Mapped[int | None] = mapped_column(
        ForeignKey("invest_strategies.id", ondelete="SET NULL")
    )
    buy_reason: Mapped[str | None] = mapped_column(String(500))
