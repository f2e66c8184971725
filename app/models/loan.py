"""Loans from application through listing to servicing, and their schedules."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Money, RatePercent, TimestampMixin, str_enum, utcnow
from app.models.credit import CreditFactsMixin


class LoanPurpose(enum.StrEnum):
    DEBT_CONSOLIDATION = "debt_consolidation"
    CREDIT_CARD = "credit_card"
    HOME_IMPROVEMENT = "home_improvement"
    BUSINESS = "business"
    MAJOR_PURCHASE = "major_purchase"
    EDUCATION = "education"
    MEDICAL = "medical"
    AUTO = "auto"
    OTHER = "other"


class LoanStatus(enum.StrEnum):
    """Where a loan is in its life: application, listing, then servicing."""

    SUBMITTED = "submitted"  # waiting for the risk score
    OFFERED = "offered"  # scored; the borrower sees the offer
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    PENDING_APPROVAL = "pending_approval"  # offer accepted; admins verify and approve
    LISTED = "listed"  # in the marketplace, taking investments
    EXPIRED = "expired"  # funding deadline passed below the issue threshold
    CANCELLED = "cancelled"
    ISSUED = "issued"  # funded and disbursed; see servicing_status


class ServicingStatus(enum.StrEnum):
    CURRENT = "current"
    GRACE = "grace"
    LATE_16_30 = "late_16_30"
    LATE_31_120 = "late_31_120"
    DEFAULT = "default"
    CHARGED_OFF = "charged_off"
    PAID_OFF = "paid_off"


class InstallmentStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    LATE = "late"
    PAID = "paid"
    CANCELLED = "cancelled"  # removed by a prepayment that shortened the schedule


# What an application may say, the one table behind the web form, the API and CSV imports:
# field -> (lowest, highest) accepted value.
APPLICATION_LIMITS = {
    "amount": (1000, 40000),
    "annual_income": (1, 10_000_000),
    "monthly_debt": (0, 1_000_000),
    "credit_score": (300, 850),
    "credit_history_months": (0, 1200),
    "revolving_balance": (0, 10_000_000),
    "revolving_utilization": (0, 200),
    "inquiries_6m": (0, 100),
    "delinquencies_2y": (0, 100),
    "public_records": (0, 100),
}


class Loan(CreditFactsMixin, TimestampMixin, Base):
    """An application, then a listing, then a loan in servicing (credit facts: a snapshot)."""

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term_months > 0", name="term_positive"),
        CheckConstraint(
            "funded_amount >= 0 AND funded_amount <= amount", name="funded_within_amount"
        ),
        CheckConstraint(
            "principal_outstanding >= 0 AND principal_outstanding <= amount",
            name="principal_within_amount",
        ),
        CheckConstraint("interest_rate IS NULL OR interest_rate >= 0", name="rate_not_negative"),
        CheckConstraint(
            "(status = 'issued') = (servicing_status IS NOT NULL)",
            name="servicing_only_when_issued",
        ),
        Index("ix_loans_borrower_id_status", "borrower_id", "status"),
        Index("ix_loans_status_created_at", "status", "created_at"),
        Index("ix_loans_status_risk_grade", "status", "risk_grade"),
        Index("ix_loans_servicing_status", "servicing_status"),
        # The marketplace filters listed loans by grade letter and amount, then sorts by rate.
        Index(
            "ix_loans_listed_grade_amount",
            text("left(risk_grade, 1)"),
            "amount",
            postgresql_include=["funding_deadline", "interest_rate", "term_months"],
            postgresql_where=text("status = 'listed'"),
        ),
        # The marketplace's first page (newest first) read straight off an index: its cost
        # does not grow with the number of listings (benchmarks/pages.py).
        Index(
            "ix_loans_listed_newest",
            text("listed_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'listed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    amount: Mapped[Money]  # what is lent; lowered to the funded amount on a partial issue
    requested_amount: Mapped[Money | None]  # what the borrower asked for
    term_months: Mapped[int]
    requested_term_months: Mapped[int | None]  # differs from term_months after a counter-offer
    purpose: Mapped[LoanPurpose] = mapped_column(str_enum(LoanPurpose, "loan_purpose"))
    title: Mapped[str | None] = mapped_column(String(120))
    # The id a CSV import gave the loan; re-importing the same rows finds them here.
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    collateral_description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[LoanStatus] = mapped_column(
        str_enum(LoanStatus, "loan_status"), default=LoanStatus.SUBMITTED
    )
    servicing_status: Mapped[ServicingStatus | None] = mapped_column(
        str_enum(ServicingStatus, "servicing_status")
    )

    # The offer, set by underwriting.
    risk_grade: Mapped[str | None] = mapped_column(String(2))
    interest_rate: Mapped[RatePercent | None]
    apr: Mapped[RatePercent | None]
    origination_fee_rate: Mapped[RatePercent | None]
    origination_fee: Mapped[Money | None]
    monthly_payment: Mapped[Money | None]
    decision_reasons: Mapped[list | None] = mapped_column(JSONB)
    # A rate and grade an imported file quoted (another lender's pricing, the original design's
    # loans.csv): kept beside ours for comparison, never used to price.
    quoted_rate: Mapped[RatePercent | None]
    quoted_grade: Mapped[str | None] = mapped_column(String(2))

    # Listing and servicing.
    funded_amount: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    principal_outstanding: Mapped[Money] = mapped_column(
        default=Decimal("0.00"), server_default="0"
    )
    listed_at: Mapped[datetime | None]
    funding_deadline: Mapped[datetime | None]
    issued_at: Mapped[datetime | None]
    first_due_date: Mapped[date | None]
    next_due_date: Mapped[date | None]
    days_past_due: Mapped[int] = mapped_column(default=0, server_default="0")
    closed_at: Mapped[datetime | None]
    # Autopay: from this moment the cycle collects every installment on its due date.
    autopay_since: Mapped[datetime | None]
    # A hardship plan changed the schedule (lenders and the secondary market see it); a
    # settlement for less closed it (charged off, the rest forgiven).
    modified: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    modified_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]

    borrower: Mapped["User"] = relationship()  # noqa: F821 - resolved by the registry
    installments: Mapped[list["Installment"]] = relationship(
        back_populates="loan", order_by="Installment.number"
    )
    approvals: Mapped[list["LoanApproval"]] = relationship(back_populates="loan")

    @property
    def amount_left(self) -> Decimal:
        return self.amount - self.funded_amount

    @property
    def percent_funded(self) -> Decimal:
        return (self.funded_amount * 100 / self.amount).quantize(Decimal("0.1"))


class Installment(Base):
    __tablename__ = "installments"
    __table_args__ = (
        UniqueConstraint("loan_id", "number"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint(
            "principal_due >= 0 AND interest_due >= 0 AND fee_due >= 0", name="due_not_negative"
        ),
        CheckConstraint(
            "principal_paid >= 0 AND principal_paid <= principal_due"
            " AND interest_paid >= 0 AND interest_paid <= interest_due"
            " AND fee_paid >= 0 AND fee_paid <= fee_due",
            name="paid_within_due",
        ),
        CheckConstraint(
            "deferred_interest_due >= 0 AND deferred_interest_due <= interest_due",
            name="deferred_within_interest",
        ),
        Index("ix_installments_status_due_date", "status", "due_date"),
        # A loan's next open installment (settlement, payments, the daily cycle) read off an
        # index of open rows alone, whatever the statistics say of how many are open.
        Index(
            "ix_installments_open_by_loan",
            "loan_id",
            "due_date",
            postgresql_where=text("status IN ('scheduled', 'due', 'late')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    number: Mapped[int]
    due_date: Mapped[date]
    principal_due: Mapped[Money]
    interest_due: Mapped[Money]
    fee_due: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    principal_paid: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    interest_paid: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    fee_paid: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    # The part of interest_due that is a spread holiday's interest (earned during the holiday,
    # owed in full: a payoff or a prepayment collects what is unpaid; paid before the rest).
    deferred_interest_due: Mapped[Money] = mapped_column(
        default=Decimal("0.00"), server_default="0"
    )
    status: Mapped[InstallmentStatus] = mapped_column(
        str_enum(InstallmentStatus, "installment_status"), default=InstallmentStatus.SCHEDULED
    )
    # Interest accrues from accrual_start to due_date (30/360): the day the period began, or the
    # day an early payment ended the last one. Interest for days before it is interest_settled.
    accrual_start: Mapped[date]
    interest_settled: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    late_fee_assessed_on: Mapped[date | None]
    paid_on: Mapped[date | None]

    loan: Mapped[Loan] = relationship(back_populates="installments")

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.interest_due + self.fee_due

    @property
    def scheduled_left(self) -> Decimal:
        """Unpaid scheduled amount (interest and principal): what delinquency counts."""
        return self.principal_due + self.interest_due - self.principal_paid - self.interest_paid

    @property
    def total_paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid + self.fee_paid

    @property
    def fee_outstanding(self) -> Decimal:
        return self.fee_due - self.fee_paid


class LoanApproval(Base):
    """One admin's approve/decline of an application (large loans need two)."""

    __tablename__ = "loan_approvals"
    __table_args__ = (UniqueConstraint("loan_id", "admin_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    admin_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    approved: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    loan: Mapped[Loan] = relationship(back_populates="approvals")
