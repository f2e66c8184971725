"""Check a CSV file and, when every row is good, insert it set-based: all rows or none."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import text, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from app.models import CREDIT_FACTS, User
from app.services.platform.imports import original, staging
from app.services.platform.imports.formats import Format, cast_sql
from app.services.platform.imports.staging import Report

CHUNK_ROWS = 100_000
# Users' personal data is sealed (models/sealed.py): it cannot be written in SQL from the
# staging table, so it is read from there, sealed here and written by id after the insert.
SEALED_PROFILE = ("phone", "date_of_birth", "address_line1", "city", "state", "postal_code")
Progress = Callable[[int, int], None]  # (rows done, rows in the file)


@dataclass(frozen=True)
class Target:
    """Where one kind of file lands and how its rows become table rows."""

    table: str
    key_column: str
    key_sql: str  # the staged row's key, as stored
    columns: dict[str, str]  # table column -> SQL over the staged row `s` (and `u` for loans)
    joins: str = ""
    cross_checks: tuple[Callable[[str], str], ...] = ()  # staging table -> SELECT of problems


def _casts(fmt: Format, *names: str) -> dict[str, str]:
    return {name: cast_sql(fmt.by_name[name]) for name in names}


def target_for(fmt: Format, batch_id: int | None) -> Target:
    batch = "NULL" if batch_id is None else str(int(batch_id))
    if fmt.kind == "users":
        return Target(
            "users",
            "email",
            "lower(btrim(s.email))",
            {  # the SEALED_PROFILE columns follow, sealed, once the rows exist
                **_casts(fmt, "email", "first_name", "last_name"),
                **_casts(fmt, "annual_income", "net_worth", "employment_status", "credit_score"),
                "role": f"coalesce({cast_sql(fmt.by_name['role'])}, 'borrower')",
                "credit_score_source": "CASE WHEN nullif(btrim(s.credit_score), '') IS NOT NULL"
                " THEN 'imported' END",
                "country": "coalesce(upper(nullif(btrim(s.country), '')), 'US')",
                # No password until the person sets one: no hash ever verifies against "!".
                "password_hash": "'!imported'",
            },
        )
    if fmt.kind == "loans":
        return Target(
            "loans",
            "external_id",
            "btrim(s.external_id)",
            {
                **_casts(fmt, "external_id", "amount", "term_months", "purpose", "title"),
                **_casts(fmt, "description", *CREDIT_FACTS),
                "requested_amount": cast_sql(fmt.by_name["amount"]),
                "quoted_rate": cast_sql(fmt.by_name["interest_rate"]),
                "quoted_grade": f"upper({cast_sql(fmt.by_name['risk_grade'])})",
                "borrower_id": "u.id",
                "status": "'submitted'",
            },
            joins="JOIN users u ON u.email = lower(btrim(s.borrower_email))",
            cross_checks=(staging.borrower_check,),
        )
    return Target(
        "historical_outcomes",
        "external_id",
        "btrim(s.external_id)",
        {
            **_casts(fmt, "external_id", "amount", "term_months", "purpose", "defaulted"),
            **_casts(fmt, *CREDIT_FACTS),
            "import_batch_id": batch,
            "created_at": "now()",
        },
    )


def inspect(session: Session, fmt: Format, stream: BinaryIO) -> Report:
    """Stage and check the file; the report lists every problem and a preview of the rows."""
    report = Report(fmt.kind)
    with _staged(session, fmt, stream, report) as staged:
        if staged:
            _check(session, fmt, report)
            target = target_for(fmt, None)
            report.preview = staging.preview(session, report)
            report.rows_existing = staging.count_existing(
                session, report, target.table, target.key_column, target.key_sql
            )
    return report


def load(
    session: Session,
    fmt: Format,
    stream: BinaryIO,
    *,
    batch_id: int | None = None,
    progress: Progress | None = None,
) -> Report:
    """Check, then insert every new row in the caller's transaction; nothing when any row is bad.

    Rows whose key is already stored are skipped, so importing a file twice adds nothing. The
    cell checks run on a second connection while this one inserts; the insert is undone unless
    every check passes.
    """
    report = Report(fmt.kind)
    with _staged(session, fmt, stream, report) as staged:
        if staged:
            _check(
                session,
                fmt,
                report,
                insert=lambda: _insert(session, fmt, report, batch_id, progress),
            )
    return report


@contextmanager
def _staged(session: Session, fmt: Format, stream: BinaryIO, report: Report):
    """The file in a staging table for the duration; dropped afterwards."""
    if fmt.kind == "loans":  # the original design's loans.csv is read as ours
        stream = original.translated(session, stream)
    engine = session.get_bind().engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as side:
        staging.drop_stale(side)
        staged = staging.stage(side, fmt, stream, report)
        if not staged:
            side.execute(text(f"DROP TABLE IF EXISTS {report.table}"))
            yield False
            return
    yield True
    # In the caller's transaction: it has read the table, so only it may drop it now. (After
    # an exception the caller rolls back instead, and drop_stale clears the table later.)
    session.execute(text(f"DROP TABLE IF EXISTS {report.table}"))


def _check(session: Session, fmt: Format, report: Report, insert=None) -> None:
    """Cell and duplicate checks on their own connection, borrower checks (and the insert) here."""
    engine = session.get_bind().engine
    with ThreadPoolExecutor(max_workers=1) as pool:
        cells = pool.submit(_problems_elsewhere, engine, staging.cell_problems(fmt, report))
        cross = [check(report.table) for check in target_for(fmt, None).cross_checks]
        found_here = staging.problems(session, cross)
        savepoint = session.begin_nested()
        inserted = False
        if insert and not found_here:
            try:
                insert()
                inserted = True
            except (DataError, IntegrityError):
                pass  # a cell that does not cast or breaks a constraint: the checks say which
        found_there = cells.result()
    staging.record(report, found_here, found_there)
    if report.ok and inserted:
        savepoint.commit()
    else:
        savepoint.rollback()
        report.rows_imported = 0
        if insert and report.ok:  # no problem found, yet the insert failed: let it raise
            raise RuntimeError("The import failed without a row to blame; nothing was stored.")


def _problems_elsewhere(engine, parts: list[str]) -> list[tuple]:
    with engine.connect() as connection:
        return staging.problems(connection, parts)


def _insert(session: Session, fmt: Format, report: Report, batch_id, progress) -> None:
    target = target_for(fmt, batch_id)
    columns = ", ".join(target.columns)
    values = ", ".join(target.columns.values())
    statement = text(
        f"INSERT INTO {target.table} ({columns}) SELECT {values} FROM {report.table} s"
        f" {target.joins} WHERE s.row_no BETWEEN :first AND :last AND NOT EXISTS"
        f" (SELECT 1 FROM {target.table} t WHERE t.{target.key_column} = {target.key_sql})"
    )
    if fmt.kind == "users":
        statement = text(f"{statement.text} RETURNING id, {target.key_column}")
    for first in range(1, report.rows_total + 1, CHUNK_ROWS):
        last = min(first + CHUNK_ROWS - 1, report.rows_total)
        result = session.execute(statement, {"first": first, "last": last})
        if fmt.kind == "users":
            report.rows_imported += _seal_profiles(session, fmt, report, result.all(), first, last)
        else:
            report.rows_imported += result.rowcount
        if progress:
            progress(last, report.rows_total)
    report.rows_existing = report.rows_total - report.rows_imported


def _seal_profiles(session: Session, fmt: Format, report: Report, inserted, first, last) -> int:
    """Write the just-inserted users' personal data, sealed, through the ORM's column types."""
    if not inserted:
        return 0
    casts = ", ".join(f"{cast_sql(fmt.by_name[name])} AS {name}" for name in SEALED_PROFILE)
    staged = session.execute(
        text(
            f"SELECT lower(btrim(s.email)) AS email, {casts} FROM {report.table} s"
            " WHERE s.row_no BETWEEN :first AND :last"
        ),
        {"first": first, "last": last},
    ).mappings()
    profiles = {row["email"]: row for row in staged}
    session.execute(
        update(User),
        [
            {"id": user_id, **{name: profiles[email][name] for name in SEALED_PROFILE}}
            for user_id, email in inserted
        ],
    )
    return len(inserted)
