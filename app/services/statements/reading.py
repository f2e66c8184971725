"""Stored statements as their owners (and admins) read them."""

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from app.models import AccountStatement, StatementKind, User
from app.services.statements import render
from app.services.statements.periods import Period

LABELS = {
    StatementKind.LENDER_MONTH: "Monthly statement",
    StatementKind.LENDER_YEAR: "Tax package",
    StatementKind.BORROWER_MONTH: "Monthly loan statement",
    StatementKind.BORROWER_YEAR: "Year-end interest statement",
}


def listed(session: Session, user_id: int) -> list[AccountStatement]:
    """The user's statements, newest period first (without their PDFs)."""
    return list(
        session.scalars(
            select(AccountStatement)
            .options(defer(AccountStatement.pdf), defer(AccountStatement.csv))
            .where(AccountStatement.user_id == user_id)
            .order_by(AccountStatement.period_start.desc(), AccountStatement.kind)
        )
    )


def period_of(statement: AccountStatement) -> Period:
    return Period(statement.period_start, statement.period_end)


def pdf_of(session: Session, statement: AccountStatement) -> bytes:
    """The statement's PDF, drawn on first download and kept."""
    if statement.pdf is None:
        holder = session.get(User, statement.user_id)
        statement.pdf = render.pdf_bytes(
            statement.kind, period_of(statement), statement.figures, holder_name(holder)
        )
        session.flush()
    return statement.pdf


def holder_name(user: User) -> str:
    return user.full_name or user.email


def filename(statement: AccountStatement, extension: str) -> str:
    return f"communitylend-{statement.kind.value}-{statement.period_start:%Y-%m}.{extension}"


def title(statement: AccountStatement) -> str:
    start = statement.period_start
    when = str(start.year) if statement.kind.value.endswith("year") else f"{start:%B %Y}"
    return f"{LABELS[statement.kind]}, {when}"
