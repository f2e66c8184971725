"""Money arriving and leaving: borrower payments, lender cash transfers, provider events."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Money, TimestampMixin, str_enum, utcnow


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


class PaymentType(enum.StrEnum):
    """When a payment came, against the due date of the installment it paid first (the original
    design's payments.payment_type)."""

    SCHEDULED = "scheduled"  # on the due date
    EARLY = "early"  # before it
    LATE = "late"  # after it


class Provider(enum.StrEnum):
    SIMULATED = "simulated"
    STRIPE = "stripe"
    MANUAL = "manual"  # recorded by an admin


class Payment(TimestampMixin, Base):
    """A borrower's payment on a loan and how it was applied."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "principal_applied >= 0 AND interest_applied >= 0 AND fees_applied >= 0",
            name="applied_not_negative",
        ),
        CheckConstraint(
            "principal_applied + interest_applied + fees_applied <= amount",
            name="applied_within_amount",
        ),
        UniqueConstraint("provider", "provider_ref"),
        UniqueConstraint("payer_id", "idempotency_key"),
        Index("ix_payments_loan_id_received_on", "loan_id", "received_on"),
        Index("ix_payments_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="RESTRICT"))
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    amount: Mapped[Money]
    received_on: Mapped[date | None]
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus, "payment_status"), default=PaymentStatus.PENDING
    )
    provider: Mapped[Provider] = mapped_column(str_enum(Provider, "provider"))
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
    principal_applied: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    interest_applied: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    fees_applied: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    journal_entry_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("journal_entries.id", ondelete="RESTRICT")
    )
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    # The due date of the installment the payment paid first, and whether it came then, before
    # or after (None: nothing was due, e.g. a payment on a loan already paid ahead).
    due_date: Mapped[date | None]
    payment_type: Mapped[PaymentType | None] = mapped_column(str_enum(PaymentType, "payment_type"))


class PaymentAllocation(Base):
    """One note's share of one payment (exactly once per payment and note)."""

    __tablename__ = "payment_allocations"
    __table_args__ = (
        UniqueConstraint("payment_id", "investment_id"),
        CheckConstraint(
            "principal >= 0 AND interest >= 0 AND late_fee >= 0 AND recovery >= 0"
            " AND servicing_fee >= 0",
            name="parts_not_negative",
        ),
        Index("ix_payment_allocations_investment_id", "investment_id"),
        CheckConstraint("agency_fee >= 0", name="agency_fee_not_negative"),
        Index("ix_payment_allocations_lender_id", "lender_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    investment_id: Mapped[int] = mapped_column(ForeignKey("investments.id", ondelete="RESTRICT"))
    # Who was paid: the note's owner when the payment was shared out (notes change hands).
    lender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    principal: Mapped[Money]
    interest: Mapped[Money]
    late_fee: Mapped[Money]
    recovery: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    servicing_fee: Mapped[Money]
    # Of `recovery`, what a collection agency took before the lender was paid (collections).
    agency_fee: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")


class PayoutState(enum.StrEnum):
    """Where a withdrawal is on its way to the lender's bank."""

    REQUESTED = "requested"  # the lender asked; the cash is held for the payout
    SENT = "sent"  # the money left the platform's account for the lender's bank
    SETTLED = "settled"  # the lender's bank took it
    FAILED = "failed"  # refused before sending, or returned by the bank: the cash is theirs again


class TransferDirection(enum.StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


class CashTransfer(TimestampMixin, Base):
    """A lender's deposit or withdrawal through the payment provider."""

    __tablename__ = "cash_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("provider", "provider_ref"),
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_cash_transfers_user_id_created_at", "user_id", "created_at"),
        Index("ix_cash_transfers_payout_state", "payout_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    direction: Mapped[TransferDirection] = mapped_column(
        str_enum(TransferDirection, "transfer_direction")
    )
    amount: Mapped[Money]
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus, "transfer_status"), default=PaymentStatus.PENDING
    )
    provider: Mapped[Provider] = mapped_column(str_enum(Provider, "transfer_provider"))
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
    completed_at: Mapped[datetime | None]
    journal_entry_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("journal_entries.id", ondelete="RESTRICT")
    )
    # Withdrawals only (services/money/payouts.py): the state, the bank's reference for the
    # payout, why it failed, and when it was sent.
    payout_state: Mapped[PayoutState | None] = mapped_column(str_enum(PayoutState, "payout_state"))
    payout_reference: Mapped[str | None] = mapped_column(String(120))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class ProviderEvent(Base):
    """A webhook event from the payment provider, stored once by its id (dedupe)."""

    __tablename__ = "provider_events"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    provider: Mapped[Provider] = mapped_column(str_enum(Provider, "event_provider"))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(Text)  # why it moved no money (ops follow up)


class ScheduledPaymentStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting for its date (or for its next attempt)
    COLLECTED = "collected"  # the provider took it and it was applied: `payment_id`
    FAILED = "failed"  # refused for good, or every attempt failed: `last_error` says why
    CANCELLED = "cancelled"  # by the borrower, before its date


class ScheduledPayment(TimestampMixin, Base):
    """A payment the borrower asked for on a date, or one autopay asks for on a due date.

    The daily cycle collects it through the payment provider on `pay_on`; a failed attempt is
    tried again on `next_attempt_on` until the policy's attempts are spent. The key makes the
    collection one payment, whatever runs twice.
    """

    __tablename__ = "scheduled_payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        UniqueConstraint("payer_id", "idempotency_key"),
        # Autopay asks once per installment.
        Index(
            "ux_scheduled_payments_installment",
            "installment_id",
            unique=True,
            postgresql_where=text("installment_id IS NOT NULL"),
        ),
        Index(
            "ix_scheduled_payments_waiting",
            "next_attempt_on",
            postgresql_where=text("status = 'scheduled'"),
        ),
        Index("ix_scheduled_payments_loan_id", "loan_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="RESTRICT"))
    payer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    amount: Mapped[Money]
    pay_on: Mapped[date]
    next_attempt_on: Mapped[date]
    status: Mapped[ScheduledPaymentStatus] = mapped_column(
        str_enum(ScheduledPaymentStatus, "scheduled_payment_status"),
        default=ScheduledPaymentStatus.SCHEDULED,
    )
    installment_id: Mapped[int | None] = mapped_column(
        ForeignKey("installments.id", ondelete="RESTRICT")
    )  # set for autopay: the installment it pays
    idempotency_key: Mapped[str] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    cancelled_at: Mapped[datetime | None]

    @property
    def autopay(self) -> bool:
        return self.installment_id is not None
