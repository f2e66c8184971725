"""A lender's portfolio: notes, transactions, allocation, cash received and projected cash flow."""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Installment,
    InstallmentStatus,
    Investment,
    InvestmentStatus,
    JournalEntry,
    LedgerAccount,
    Loan,
    Payment,
    PaymentAllocation,
    Posting,
)
from app.services.money.ledger import account_code
from app.services.money.money import ZERO, cents

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COMPLETED = (InvestmentStatus.PAID_OFF, InvestmentStatus.CHARGED_OFF)


NOTES_PAGE_SIZE = 50


def notes(
    session: Session, lender_id: int, status: str | None = None
) -> list[tuple[Investment, Loan]]:
    """The lender's notes with their loans, newest first (optionally one status)."""
    return [tuple(row) for row in session.execute(_notes_query(lender_id, status))]


def notes_page(
    session: Session, lender_id: int, status: str | None, page: int
) -> tuple[list[tuple[Investment, Loan]], int, int]:
    """One page of `notes`, the page it is and how many pages there are."""
    query = _notes_query(lender_id, status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max((total + NOTES_PAGE_SIZE - 1) // NOTES_PAGE_SIZE, 1)
    page = min(page, pages)
    rows = session.execute(query.offset((page - 1) * NOTES_PAGE_SIZE).limit(NOTES_PAGE_SIZE))
    return [tuple(row) for row in rows], page, pages


def _notes_query(lender_id: int, status: str | None):
    query = (
        select(Investment, Loan)
        .join(Loan, Loan.id == Investment.loan_id)
        .where(Investment.lender_id == lender_id)
        .order_by(Investment.id.desc())
    )
    if status in {s.value for s in InvestmentStatus}:
        query = query.where(Investment.status == InvestmentStatus(status))
    return query


def transactions(session: Session, lender_id: int, limit: int | None = 200) -> list[dict]:
    """Every movement of the lender's available cash, newest first."""
    code = account_code(AccountKind.LENDER_CASH, owner_id=lender_id)
    query = (
        select(JournalEntry.effective_date, JournalEntry.kind, JournalEntry.memo, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(LedgerAccount.code == code)
        .order_by(JournalEntry.effective_date.desc(), JournalEntry.id.desc())
    )
    if limit:
        query = query.limit(limit)
    # The cash account is a liability: a credit (negative posting) adds to the lender's cash.
    return [
        {"at": at, "kind": kind, "memo": memo, "amount": -amount}
        for at, kind, memo, amount in session.execute(query)
    ]


def allocation(session: Session, lender_id: int) -> dict[str, list[tuple[str, Decimal]]]:
    """Outstanding principal by grade and the amount in notes by status."""
    by_grade = session.execute(
        select(func.left(Loan.risk_grade, 1), func.sum(Investment.principal_outstanding))
        .join(Loan, Loan.id == Investment.loan_id)
        .where(Investment.lender_id == lender_id, Investment.status == InvestmentStatus.ACTIVE)
        .group_by(func.left(Loan.risk_grade, 1))
        .order_by(func.left(Loan.risk_grade, 1))
    ).all()
    state = func.coalesce(cast(Loan.servicing_status, String), cast(Loan.status, String))
    by_status = session.execute(
        select(state, func.sum(Investment.amount))
        .join(Loan, Loan.id == Investment.loan_id)
        .where(Investment.lender_id == lender_id, Investment.status != InvestmentStatus.REFUNDED)
        .group_by(state)
        .order_by(state)
    ).all()
    return {
        "grade": [(g, a) for g, a in by_grade],
        "status": [(s.replace("_", " "), a) for s, a in by_status],
    }


def monthly_cash_received(session: Session, lender_id: int) -> list[tuple[str, Decimal]]:
    """What notes paid the lender each month, net of servicing fees."""
    month = func.to_char(Payment.received_on, "YYYY-MM")
    received = (
        PaymentAllocation.principal
        + PaymentAllocation.interest
        + PaymentAllocation.late_fee
        + PaymentAllocation.recovery
        - PaymentAllocation.servicing_fee
        - PaymentAllocation.agency_fee
    )
    return [
        tuple(row)
        for row in session.execute(
            select(month, func.sum(received))
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(PaymentAllocation.lender_id == lender_id)  # the owner when it was paid
            .group_by(month)
            .order_by(month)
        )
    ]


def projected_cash_flow(
    session: Session, lender_id: int, months: int = 12
) -> list[tuple[str, Decimal]]:
    """The lender's share of what current notes are scheduled to pay, by month (summed in the
    database: a lender with 20,000 notes has some 400,000 open installments)."""
    month = func.to_char(Installment.due_date, "YYYY-MM")
    owed = Installment.principal_due - Installment.principal_paid
    owed += Installment.interest_due - Installment.interest_paid
    rows = session.execute(
        _open_installments(func.sum(owed * Investment.amount / Loan.amount), month, lender_id)
        .group_by(month)
        .order_by(month)
        .limit(months)
    )
    return [(label, cents(total)) for total, label in rows]


def scheduled_interest(session: Session, lender_id: int) -> Decimal:
    """Interest the lender's active notes are still scheduled to earn."""
    interest = Installment.interest_due - Installment.interest_paid
    share = func.coalesce(func.sum(interest * Investment.amount / Loan.amount), 0)
    return cents(Decimal(session.scalar(_open_installments(share, None, lender_id))))


def _open_installments(total, label, lender_id: int):
    """A query of `total` (and `label`) over every open installment of the lender's active
    notes."""
    columns = (total,) if label is None else (total, label)
    return (
        select(*columns)
        .select_from(Installment)
        .join(Loan, Loan.id == Installment.loan_id)
        .join(Investment, Investment.loan_id == Loan.id)
        .where(
            Investment.lender_id == lender_id,
            Investment.status == InvestmentStatus.ACTIVE,
            Installment.status.in_(
                [InstallmentStatus.SCHEDULED, InstallmentStatus.DUE, InstallmentStatus.LATE]
            ),
        )
    )


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(getattr(value, "value", value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def chart_bars(series: list[tuple[str, Decimal]]) -> list[dict]:
    """Label, value and bar width (percent of the largest) for server-drawn SVG charts."""
    largest = max((abs(v) for _, v in series), default=ZERO) or Decimal(1)
    return [
        {"label": label, "value": value, "width": float(abs(value) / largest * 100)}
        for label, value in series
    ]


@dataclass(frozen=True)
class NoteTotals:
    total_invested: Decimal  # every note ever bought, at what was paid for it
    active_count: int
    completed_count: int  # paid off or charged off


def note_totals(session: Session, lender_id: int) -> NoteTotals:
    """How much the lender has put into notes, and how many are running or finished."""
    invested, active, completed = session.execute(
        select(
            func.coalesce(func.sum(Investment.amount), 0),
            func.count().filter(Investment.status == InvestmentStatus.ACTIVE),
            func.count().filter(Investment.status.in_(COMPLETED)),
        ).where(Investment.lender_id == lender_id)
    ).one()
    return NoteTotals(cents(Decimal(invested)), active, completed)
