"""Drawing stored statements' PDFs in the background: the issuing job queues one drawing job per
batch of statements, so every PDF exists soon after the 1st without holding up the figures (a
PDF costs 2-4 ms to draw; 100,000 of them are minutes, the figures of all of them one)."""

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, defer

from app.models import AccountStatement, User
from app.services.platform import outbox
from app.services.statements import reading, render

BATCH = 2000  # statements per drawing job: a few seconds of work each

_TABLE = AccountStatement.__table__
FILL = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("sid"), _TABLE.c.pdf.is_(None))
    .values(pdf=bindparam("pdf"))
)


def queue_drawing(session: Session, statement_ids: list[int]) -> int:
    """One `draw_statement_pdfs` job per batch of `statement_ids`; how many were queued."""
    ordered = sorted(statement_ids)
    batches = [ordered[at : at + BATCH] for at in range(0, len(ordered), BATCH)]
    outbox.add_many(
        session,
        "draw_statement_pdfs",
        [({"ids": ids}, f"statement-pdfs:{ids[0]}-{ids[-1]}", None) for ids in batches],
    )
    return len(batches)


def draw_missing(session: Session, statement_ids: list[int]) -> int:
    """Draw and keep the PDF of each of `statement_ids` that has none yet; how many."""
    rows = session.execute(
        select(AccountStatement, User)
        .options(defer(AccountStatement.pdf), defer(AccountStatement.csv))
        .join(User, User.id == AccountStatement.user_id)
        .where(AccountStatement.id.in_(statement_ids), AccountStatement.pdf.is_(None))
    ).all()
    drawn = [
        {
            "sid": statement.id,
            "pdf": render.pdf_bytes(
                statement.kind, reading.period_of(statement), statement.figures,
                reading.holder_name(holder),
            ),
        }
        for statement, holder in rows
    ]  # fmt: skip
    if drawn:
        session.execute(FILL, drawn)
    return len(drawn)
