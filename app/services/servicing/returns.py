"""What lenders earn: Net Annualized Return (LendingClub's definition), adjusted NAR, summary."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Installment,
    Investment,
    InvestmentStatus,
    JournalEntry,
    LedgerAccount,
    Loan,
    Payment,
    PaymentAllocation,
    Posting,
)
from app.services.money import ledger
from app.services.money.money import ZERO
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.trading import holdings


@dataclass(frozen=True)
class LenderSummary:
    available_cash: Decimal
    committed_cash: Decimal
    outstanding_principal: Decimal
    received_principal: Decimal
    received_interest: Decimal
    received_late_fees: Decimal
    received_recoveries: Decimal
    servicing_fees: Decimal
    charged_off_principal: Decimal
    nar_percent: Decimal | None
    adjusted_nar_percent: Decimal | None
    trading_result: Decimal = ZERO  # what selling and buying notes made or cost (realised)

    @property
    def net_return(self) -> Decimal:
        """What the notes have earned so far: interest, late fees and recoveries, less
        servicing fees and the principal written off."""
        return (
            self.received_interest
            + self.received_late_fees
            + self.received_recoveries
            - self.servicing_fees
            - self.charged_off_principal
            + self.trading_result
        )


def summary(
    session: Session, lender_id: int, as_of: date, policy: LendingPolicy = DEFAULT_POLICY
) -> LenderSummary:
    """The lender's account at a glance (all figures from the ledger and allocations)."""
    received = session.execute(
        select(
            *(
                func.coalesce(func.sum(getattr(PaymentAllocation, c)), 0)
                for c in (
                    "principal",
                    "interest",
                    "late_fee",
                    "recovery",
                    "servicing_fee",
                    "agency_fee",
                )
            )
        ).where(PaymentAllocation.lender_id == lender_id)  # what they were paid, as owner then
    ).one()
    gains, principal = note_month_totals(session, lender_id, as_of)  # once, for both NARs
    traded = trading_result(session, lender_id, as_of)
    outstanding = session.scalar(
        select(func.coalesce(func.sum(Investment.principal_outstanding), 0)).where(
            Investment.lender_id == lender_id
        )
    )
    return LenderSummary(
        available_cash=ledger.balance_of(session, AccountKind.LENDER_CASH, owner_id=lender_id),
        committed_cash=ledger.balance_of(session, AccountKind.LENDER_COMMITTED, owner_id=lender_id),
        outstanding_principal=outstanding,
        received_principal=received[0],
        received_interest=received[1],
        received_late_fees=received[2],
        received_recoveries=received[3] - received[5],  # less what collection agencies took
        servicing_fees=received[4],
        charged_off_principal=charged_off_principal(session, lender_id),
        nar_percent=annualize(gains, principal),
        adjusted_nar_percent=annualize(
            gains - _expected_losses(session, lender_id, policy), principal
        ),
        trading_result=traded.total,
    )


def trading_result(session: Session, lender_id: int, as_of: date) -> holdings.TradingResult:
    """What the lender's trades to `as_of` realised (nothing to read for one who never traded)."""
    trades = holdings.trades_of(session, lender_id, as_of)
    traded = {trade.investment_id for trade in trades}
    notes = session.scalars(select(Investment).where(Investment.id.in_(traded))) if traded else []
    return holdings.trading_result(lender_id, trades, {note.id: note for note in notes})


def charged_off_principal(session: Session, lender_id: int) -> Decimal:
    """Principal of this lender's notes written off at charge-off."""
    return session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .join(Investment, Investment.id == LedgerAccount.investment_id)
        .where(JournalEntry.kind == "charge_off", Investment.lender_id == lender_id)
    )


def net_annualized_return(
    session: Session,
    lender_id: int,
    as_of: date,
    *,
    adjusted: bool = False,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> Decimal | None:
    """NAR in percent (4 places) over every note-month to `as_of`; None while there is none.

    Adjusted NAR also subtracts the expected loss on notes that are past due.
    """
    gains, principal = note_month_totals(session, lender_id, as_of)
    if adjusted:
        gains -= _expected_losses(session, lender_id, policy)
    return annualize(gains, principal)


def annualize(gains: Decimal, principal: Decimal) -> Decimal | None:
    """LendingClub's NAR: (1 + ΣN / ΣP)^12 − 1, in percent to 4 places."""
    if principal == 0:
        return None
    with localcontext() as context:
        context.prec = 34
        return (((1 + gains / principal) ** 12 - 1) * 100).quantize(Decimal("0.0001"))


def note_month_totals(session: Session, lender_id: int, as_of: date) -> tuple[Decimal, Decimal]:
    """ΣN and ΣP over the lender's note-months.

    N = interest + late fees + recoveries − servicing fees − principal charged off that
    month; P = the note's principal at the start of the month (kept until charge-off).
    A traded note's month belongs to whoever owned it on the month's due date; what trades
    realised (`holdings.TradingResult`) adds to N (docs/secondary-market.md).
    """
    trades = holdings.trades_of(session, lender_id, as_of)
    notes = _earning_notes(session, lender_id, holdings.sold_note_ids(trades, lender_id))
    if not notes:
        return ZERO, ZERO
    book = _NoteBook.read(session, notes, as_of, lender_id)  # a few queries for all notes
    held = holdings.ownership(trades, lender_id)
    gains, principal = ZERO, ZERO
    for note in notes:
        note_gain, note_principal = _note_months(note, book, as_of, held.get(note.id))
        if note.lender_id == lender_id:  # a charge-off after a sale is the buyer's loss
            note_gain -= book.charged_off.get(note.id, ZERO)
        gains += note_gain
        principal += note_principal
    by_id = {note.id: note for note in notes}
    return gains + holdings.trading_result(lender_id, trades, by_id).total, principal


EARNING = (InvestmentStatus.ACTIVE, InvestmentStatus.PAID_OFF, InvestmentStatus.CHARGED_OFF)


def _earning_notes(session: Session, lender_id: int, sold: set[int]) -> list[Investment]:
    """The lender's earning notes, and the notes they sold (their months before the sale)."""
    held = and_(Investment.lender_id == lender_id, Investment.status.in_(EARNING))
    return list(
        session.scalars(
            select(Investment).where(or_(held, Investment.id.in_(sold)) if sold else held)
        )
    )


@dataclass
class _NoteBook:
    """What NAR needs of a lender's notes, read together rather than note by note."""

    loans: dict[int, tuple[date, date | None]]  # loan -> (issued on, closed on)
    due_dates: dict[int, list[date]]  # loan -> its installments' due dates, in order
    allocations: dict[int, list[tuple[date, Decimal, Decimal]]]  # note -> (day, gain, principal)
    charged_off: dict[int, Decimal]  # note -> principal written off

    @classmethod
    def read(
        cls, session: Session, notes: list[Investment], as_of: date, lender_id: int
    ) -> "_NoteBook":
        loan_ids = {note.loan_id for note in notes}
        note_ids = [note.id for note in notes]
        loans = {
            loan_id: (issued_at.date(), closed_at.date() if closed_at else None)
            for loan_id, issued_at, closed_at in session.execute(
                select(Loan.id, Loan.issued_at, Loan.closed_at).where(Loan.id.in_(loan_ids))
            )
        }
        due_dates = defaultdict(list)
        for loan_id, due_date in session.execute(
            select(Installment.loan_id, Installment.due_date)
            .where(Installment.loan_id.in_(loan_ids))
            .order_by(Installment.loan_id, Installment.number)
        ):
            due_dates[loan_id].append(due_date)
        allocations = defaultdict(list)
        gain = (
            PaymentAllocation.interest
            + PaymentAllocation.late_fee
            + PaymentAllocation.recovery
            - PaymentAllocation.servicing_fee
            - PaymentAllocation.agency_fee
        )
        for note_id, received_on, note_gain, repaid in session.execute(
            select(
                PaymentAllocation.investment_id,
                Payment.received_on,
                gain,
                PaymentAllocation.principal,
            )
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(
                PaymentAllocation.investment_id.in_(note_ids),
                PaymentAllocation.lender_id == lender_id,
                Payment.received_on <= as_of,
            )
        ):
            allocations[note_id].append((received_on, note_gain, repaid))
        return cls(loans, due_dates, allocations, _charge_off_amounts(session, note_ids))


def _note_months(
    note: Investment, book: _NoteBook, as_of: date, held: list[holdings.Held] | None
) -> tuple[Decimal, Decimal]:
    issued_on, closed_on = book.loans[note.loan_id]
    due_dates = book.due_dates[note.loan_id]
    horizon = min(as_of, closed_on) if closed_on else as_of
    starts = [issued_on, *due_dates]
    months = [(starts[k], starts[k + 1]) for k in range(len(due_dates)) if starts[k] < horizon]
    gains, principal = ZERO, ZERO
    repaid_before = defaultdict(Decimal)
    for received_on, note_gain, repaid in book.allocations.get(note.id, ()):
        gains += note_gain
        repaid_before[_month_of(received_on, months)] += repaid
    repaid = ZERO
    for index in range(len(months)):
        if held is None or any(stretch.covers(months[index][1]) for stretch in held):
            principal += note.amount - repaid
        repaid += repaid_before.get(index, ZERO)
    return gains, principal


def _month_of(day: date, months: list[tuple[date, date]]) -> int:
    for index, (start, end) in enumerate(months):
        if start < day <= end or (index == 0 and day <= end):
            return index
    return len(months) - 1


def _charge_off_amounts(session: Session, note_ids: list[int]) -> dict[int, Decimal]:
    """Principal written off each note (its charge-off posting debits the note account)."""
    return dict(
        session.execute(
            select(LedgerAccount.investment_id, func.sum(Posting.amount))
            .join(Posting, Posting.account_id == LedgerAccount.id)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(LedgerAccount.investment_id.in_(note_ids), JournalEntry.kind == "charge_off")
            .group_by(LedgerAccount.investment_id)
        ).all()
    )


def _expected_losses(session: Session, lender_id: int, policy: LendingPolicy) -> Decimal:
    """The expected loss on the lender's earning notes, by their loans' servicing status
    (principal summed per status in the database: the rate is the same within a status)."""
    by_status = session.execute(
        select(Loan.servicing_status, func.sum(Investment.principal_outstanding))
        .join(Loan, Loan.id == Investment.loan_id)
        .where(Investment.lender_id == lender_id, Investment.status.in_(EARNING))
        .group_by(Loan.servicing_status)
    ).all()
    total = ZERO
    for status, principal in by_status:
        rate = policy.expected_loss_percent.get(status.value if status else "", ZERO)
        total += principal * rate / 100
    return total
