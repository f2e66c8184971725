"""Each note's expected return, actual return and maturity: the original design's
`investments.expected_return`, `actual_return` and `maturity_date`, read from the schedule,
the allocations and the ledger, so they are always as current as the books themselves.

* expected return: the note's share of all the interest its loan's schedule charges over its
  life (for a listing not yet issued: of the level-payment schedule it is offered on);
* actual return: what the note has earned so far, as the lender summary counts it: interest,
  late fees and recoveries, less servicing fees and any principal written off;
* maturity: the loan's last scheduled due date (for a listing: its term from today).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.models import Installment, Investment, InvestmentStatus, Loan, PaymentAllocation
from app.services.lending import investing
from app.services.money.money import ZERO, cents
from app.services.servicing.amortization import add_months
from app.services.servicing.returns import _charge_off_amounts


@dataclass(frozen=True)
class NoteReturn:
    expected_return: Decimal
    actual_return: Decimal
    maturity_date: date | None


def note_returns(session: Session, notes: list[Investment], today: date) -> dict[int, NoteReturn]:
    """The figures for each of `notes`, by note id, in at most four set-based queries.

    Only an issued note can have a schedule, earnings or a write-off: a note still committed
    to a listing (or refunded) needs its loan alone, so a note just bought costs one query
    (which also loads `note.loan`)."""
    issued = [note for note in notes if note.status is InvestmentStatus.ACTIVE]
    issued_ids = [note.id for note in issued]
    loans = _loans(session, notes)
    schedules = _schedules(session, sorted({note.loan_id for note in issued}))
    earned = _earned(session, issued_ids) if issued_ids else {}
    written_off = _charge_off_amounts(session, issued_ids) if issued_ids else {}
    answer = {}
    for note in notes:
        loan = loans[note.loan_id]
        interest, maturity = schedules.get(loan.id) or _offered(loan, today)
        share = note.amount / loan.amount
        answer[note.id] = NoteReturn(
            expected_return=cents(interest * share),
            actual_return=earned.get(note.id, ZERO) - written_off.get(note.id, ZERO),
            maturity_date=maturity,
        )
    return answer


def _loans(session: Session, notes: list[Investment]) -> dict[int, Loan]:
    """The notes' loans in one query, each set on its notes too: the identity map holds
    objects weakly, so without it every `note.loan` read afterwards would load the loan again.
    A note just placed knows its loan as the placement left it, and that is not read again."""
    loans = {}
    for note in notes:
        reserved = investing.reserved_loan(session, note)
        if reserved is not None:
            loans[note.loan_id] = reserved
    missing = {note.loan_id for note in notes} - loans.keys()
    if missing:
        loans |= {
            loan.id: loan for loan in session.scalars(select(Loan).where(Loan.id.in_(missing)))
        }
    for note in notes:
        set_committed_value(note, "loan", loans[note.loan_id])
    return loans


def _schedules(session: Session, loan_ids: list[int]) -> dict[int, tuple[Decimal, date]]:
    """Each issued loan's total scheduled interest and last due date."""
    if not loan_ids:
        return {}
    return {
        loan_id: (interest, last_due)
        for loan_id, interest, last_due in session.execute(
            select(
                Installment.loan_id,
                func.sum(Installment.interest_due),
                func.max(Installment.due_date),
            )
            .where(Installment.loan_id.in_(loan_ids))
            .group_by(Installment.loan_id)
        )
    }


def _offered(loan: Loan, today: date) -> tuple[Decimal, date | None]:
    """A listing's schedule before it exists: its level payment for its term."""
    if loan.monthly_payment is None:
        return ZERO, None
    total_interest = loan.monthly_payment * loan.term_months - loan.amount
    return total_interest, add_months(today, loan.term_months)


def _earned(session: Session, note_ids: list[int]) -> dict[int, Decimal]:
    gain = (
        PaymentAllocation.interest
        + PaymentAllocation.late_fee
        + PaymentAllocation.recovery
        - PaymentAllocation.servicing_fee
        - PaymentAllocation.agency_fee
    )
    return dict(
        session.execute(
            select(PaymentAllocation.investment_id, func.sum(gain))
            .where(PaymentAllocation.investment_id.in_(note_ids))
            .group_by(PaymentAllocation.investment_id)
        ).all()
    )
