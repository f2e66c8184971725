"""The admin dashboard's figures, taken as a snapshot and read back: summing 100,000 loans and
every lender's cash on each visit made the page ten times slower on a book ten times larger
(benchmarks/pages.py). Figures are stored as JSON (money as strings) and read back exact."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models import BookSnapshot, User
from app.services.platform import reports


def take(session: Session) -> BookSnapshot:
    """Compute the book's aggregates now and keep them."""
    users_by_role = session.execute(select(User.role, func.count()).group_by(User.role)).all()
    figures = {
        "states": [[state, count] for state, count in reports.loans_by_state(session)],
        "volumes": {name: str(value) for name, value in reports.volumes(session).items()},
        "grades": [
            {
                **row,
                "delinquent_percent": str(row["delinquent_percent"]),
                "charged_off_percent": str(row["charged_off_percent"]),
            }
            for row in reports.risk_by_grade(session)
        ],  # fmt: skip
        "lender_cash": str(reports.cash_held_for_lenders(session)),
        "users_by_role": {role.value: count for role, count in users_by_role},
    }
    snapshot = BookSnapshot(taken_at=datetime.now(UTC), figures=figures)
    session.add(snapshot)
    session.flush()
    return snapshot


def latest(session: Session) -> dict | None:
    """The newest snapshot's figures, money as Decimal, with `taken_at`; None before the first."""
    snapshot = session.scalar(select(BookSnapshot).order_by(BookSnapshot.taken_at.desc()).limit(1))
    if snapshot is None:
        return None
    figures = snapshot.figures
    return {
        "taken_at": snapshot.taken_at,
        "states": [tuple(pair) for pair in figures["states"]],
        "volumes": {name: Decimal(value) for name, value in figures["volumes"].items()},
        "grades": [
            {
                **row,
                "delinquent_percent": Decimal(row["delinquent_percent"]),
                "charged_off_percent": Decimal(row["charged_off_percent"]),
            }
            for row in figures["grades"]
        ],  # fmt: skip
        "lender_cash": Decimal(figures["lender_cash"]),
        "users_by_role": figures["users_by_role"],
    }


def prune(session: Session, keep: int = 200) -> None:
    """Old snapshots are history nobody reads: keep the newest `keep`."""
    cutoff = session.scalar(
        select(BookSnapshot.taken_at).order_by(BookSnapshot.taken_at.desc()).offset(keep).limit(1)
    )
    if cutoff is not None:
        session.execute(delete(BookSnapshot).where(BookSnapshot.taken_at <= cutoff))
