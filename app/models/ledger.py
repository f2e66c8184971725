"""Double-entry ledger: accounts, journal entries and their postings (append-only)."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Money, str_enum, utcnow


class AccountKind(enum.StrEnum):
    LENDER_CASH = "lender_cash"  # money a lender can invest or withdraw (liability)
    LENDER_COMMITTED = "lender_committed"  # reserved for listings in funding (liability)
    NOTE_PRINCIPAL = "note_principal"  # a lender's claim on a loan's principal (liability)
    LOAN_RECEIVABLE = "loan_receivable"  # what a borrower owes (asset)
    BORROWER_PAYABLE = "borrower_payable"  # proceeds owed to a borrower (liability)
    PROCESSOR_CLEARING = "processor_clearing"  # money at the payment processor (asset)
    FEE_REVENUE = "fee_revenue"  # origination, servicing and late fees (revenue)
    # A charged-off loan's note principal, claimable by its noteholders only from recoveries.
    CREDIT_LOSSES = "credit_losses"
    # Withdrawals asked for and not yet settled or returned: owed to lenders (liability).
    PAYOUTS_OWED = "payouts_owed"
    # Withdrawals sent to lenders' banks and not yet confirmed there (asset: returns if refused).
    PAYOUTS_IN_TRANSIT = "payouts_in_transit"


class NormalSide(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("code"),
        # A running balance (debits positive) kept in the same transaction as the
        # postings; ledger.verify() proves it equals their sum. Accounts that may not
        # go negative on their normal side are guarded here as the last line of defence.
        CheckConstraint(
            "allow_negative OR (CASE WHEN normal_side = 'debit' THEN balance ELSE -balance END) >= 0",
            name="balance_not_negative",
        ),
        Index("ix_ledger_accounts_owner_kind", "owner_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80))
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, "account_kind"))
    normal_side: Mapped[NormalSide] = mapped_column(str_enum(NormalSide, "normal_side"))
    allow_negative: Mapped[bool] = mapped_column(default=False)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    loan_id: Mapped[int | None] = mapped_column(
        ForeignKey("loans.id", ondelete="RESTRICT"), index=True
    )
    investment_id: Mapped[int | None] = mapped_column(
        ForeignKey("investments.id", ondelete="RESTRICT"), index=True
    )
    balance: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JournalEntry(Base):
    """One balanced movement of money; never updated or deleted."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_kind_created_at", "kind", "created_at"),
        # Statements read a period's entries by business date (services/statements).
        Index("ix_journal_entries_effective_date", "effective_date"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    memo: Mapped[str] = mapped_column(String(500))
    effective_date: Mapped[datetime] = mapped_column(default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    reverses_entry_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("journal_entries.id", ondelete="RESTRICT"), unique=True
    )
    # Deferrable: an investment checks it at COMMIT, after it holds the loan row (investing_sql).
    loan_id: Mapped[int | None] = mapped_column(
        ForeignKey("loans.id", ondelete="RESTRICT", deferrable=True, initially="IMMEDIATE"),
        index=True,
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    details: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    postings: Mapped[list["Posting"]] = relationship(back_populates="entry")


class Posting(Base):
    """One leg of a journal entry: debits positive, credits negative."""

    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_postings_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("journal_entries.id", ondelete="RESTRICT"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="RESTRICT"))
    amount: Mapped[Money]

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[LedgerAccount] = relationship()
