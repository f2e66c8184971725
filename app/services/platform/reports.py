"""Figures for the admin pages: loans, volumes, delinquency by grade, cash, queues."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    ActivityLog,
    AdverseActionNotice,
    CashTransfer,
    Document,
    LedgerAccount,
    Loan,
    LoanStatus,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentStatus,
    PayoutState,
    ServicingStatus,
    VerificationStatus,
)

SERIOUSLY_LATE = (ServicingStatus.LATE_31_120, ServicingStatus.DEFAULT)


def loans_by_state(session: Session) -> list[tuple[str, int]]:
    """How many loans are in each state (servicing state for issued loans)."""
    state = func.coalesce(cast(Loan.servicing_status, String), cast(Loan.status, String))
    return [
        (s.replace("_", " "), n)
        for s, n in session.execute(select(state, func.count()).group_by(state).order_by(state))
    ]


def volumes(session: Session) -> dict[str, Decimal]:
    """Originated (issued amounts), in funding (committed so far) and repaid (payments received)."""
    originated = session.scalar(
        select(func.coalesce(func.sum(Loan.amount), 0)).where(Loan.status == LoanStatus.ISSUED)
    )
    funding = session.scalar(
        select(func.coalesce(func.sum(Loan.funded_amount), 0)).where(
            Loan.status == LoanStatus.LISTED
        )
    )
    repaid = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.status == PaymentStatus.SUCCEEDED
        )
    )
    return {"originated": originated, "in_funding": funding, "repaid": repaid}


def risk_by_grade(session: Session) -> list[dict]:
    """Issued loans per grade: share 31+ days late or in default, and share charged off."""
    grade = func.left(Loan.risk_grade, 1)
    rows = session.execute(
        select(
            grade,
            func.count(),
            func.count().filter(Loan.servicing_status.in_(SERIOUSLY_LATE)),
            func.count().filter(Loan.servicing_status == ServicingStatus.CHARGED_OFF),
        )
        .where(Loan.status == LoanStatus.ISSUED)
        .group_by(grade)
        .order_by(grade)
    ).all()
    return [
        {
            "grade": g,
            "loans": n,
            "delinquent_percent": Decimal(late * 100) / n,
            "charged_off_percent": Decimal(off * 100) / n,
        }
        for g, n, late, off in rows
    ]


def cash_held_for_lenders(session: Session) -> Decimal:
    """Available plus committed lender cash (liabilities, so credit balances)."""
    return -session.scalar(
        select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(
            LedgerAccount.kind.in_([AccountKind.LENDER_CASH, AccountKind.LENDER_COMMITTED])
        )
    )


def queue_health(session: Session) -> dict:
    """Outbox messages by status and the age of the oldest one waiting."""
    counts = dict(
        session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.ENQUEUED])
        )
    )
    return {
        "counts": {s.value: counts.get(s, 0) for s in OutboxStatus},
        "oldest_waiting_minutes": int((datetime.now(UTC) - oldest).total_seconds() // 60)
        if oldest
        else None,
    }


def last_ledger_check(session: Session) -> ActivityLog | None:
    """The latest recorded ledger verification."""
    return session.scalars(
        select(ActivityLog)
        .where(ActivityLog.action == "ledger.verified")
        .order_by(ActivityLog.id.desc())
        .limit(1)
    ).first()


def review_queues(session: Session) -> dict[str, int]:
    """How many applications wait for approval, documents for review, withdrawals to be sent
    and decisions for a human review (one query)."""
    applications = (
        select(func.count())
        .select_from(Loan)
        .where(Loan.status == LoanStatus.PENDING_APPROVAL)
        .scalar_subquery()
    )
    documents = (
        select(func.count())
        .select_from(Document)
        .where(Document.status == VerificationStatus.PENDING)
        .scalar_subquery()
    )
    payouts = (
        select(func.count())
        .select_from(CashTransfer)
        .where(CashTransfer.payout_state == PayoutState.REQUESTED)
        .scalar_subquery()
    )
    reviews = (
        select(func.count())
        .select_from(AdverseActionNotice)
        .where(
            AdverseActionNotice.review_requested_at.is_not(None),
            AdverseActionNotice.reviewed_at.is_(None),
        )
        .scalar_subquery()
    )
    waiting = session.execute(select(applications, documents, payouts, reviews)).one()
    return dict(zip(("applications", "documents", "payouts", "reviews"), waiting, strict=True))
