"""The admin's loan book: every loan, filtered by its state and found by number or borrower."""

from dataclasses import dataclass

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from app.models import Loan, LoanStatus, ServicingStatus, User

PAGE_SIZE = 25
# A loan's state as people ask for it: its servicing state once issued, else its status.
STATES = tuple(
    [s.value for s in LoanStatus if s is not LoanStatus.ISSUED] + [s.value for s in ServicingStatus]
)


@dataclass(frozen=True)
class BookPage:
    rows: list[tuple[Loan, User]]
    total: int
    page: int
    pages: int


def search(session: Session, *, state: str | None, query: str, page: int) -> BookPage:
    """One page of loans, newest first; `query` is a loan number or part of a name or email."""
    state_of = func.coalesce(cast(Loan.servicing_status, String), cast(Loan.status, String))
    statement = select(Loan, User).join(User, User.id == Loan.borrower_id)
    if state in STATES:
        statement = statement.where(state_of == state)
    if query:
        statement = statement.where(_matching(query))
    total = session.scalar(select(func.count()).select_from(statement.subquery()))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    rows = session.execute(
        statement.order_by(Loan.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return BookPage([tuple(row) for row in rows], total, page, pages)


def _matching(query: str):
    number = query.lstrip("#")
    if number.isascii() and number.isdigit() and len(number) < 10:
        return Loan.id == int(number)
    pattern = f"%{query.lower()}%"
    return or_(User.email.like(pattern), (User.first_name + " " + User.last_name).ilike(pattern))
