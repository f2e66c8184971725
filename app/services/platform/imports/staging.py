"""Get a CSV file into a staging table with PostgreSQL COPY, then find every bad cell in SQL."""

import csv
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import BinaryIO

import psycopg2
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from app.services.platform.imports.formats import (
    EMAIL_PATTERN,
    Format,
    check_sql,
    literal,
    quick_check_sql,
)

STALE_AFTER_SECONDS = 3600  # longer than any import takes
MAX_ERRORS_KEPT = 500
PREVIEW_ROWS = 10
_COPY_LINE = re.compile(r"line (\d+)")


@dataclass
class Report:
    """What a file holds and everything wrong with it; row numbers count the header as row 1."""

    kind: str
    # The staging table: UNLOGGED and committed at once, so a second connection can check it
    # while the first inserts from it (two cores, not one); named for its time for clean-up.
    table: str = field(
        default_factory=lambda: f"import_stage_{int(time.time())}_{uuid.uuid4().hex[:8]}"
    )
    columns: list[str] = field(default_factory=list)
    rows_total: int = 0
    rows_existing: int = 0  # rows whose key is already stored: skipped, never duplicated
    rows_imported: int = 0
    errors: list[dict] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    error_count: int = 0
    preview: list[list] = field(default_factory=list)  # the header, then the first rows

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def rows_new(self) -> int:
        return self.rows_total - self.rows_existing

    def fail(self, message: str, row: int | None = None, column: str | None = None) -> "Report":
        self.errors.append({"row": row, "column": column, "message": message, "value": None})
        self.error_count += 1
        return self


def stage(side: Connection, fmt: Format, stream: BinaryIO, report: Report) -> bool:
    """COPY the file into a new staging table on an autocommit connection; False (with the
    reason) when it can't be read."""
    columns = _read_header(fmt, stream.readline(), report)
    if columns is None:
        return False
    definitions = ", ".join(f"{c.name} text" for c in fmt.columns)
    side.execute(text(f"CREATE UNLOGGED TABLE {report.table} (row_no bigserial, {definitions})"))
    cursor = side.connection.dbapi_connection.cursor()
    try:
        cursor.execute("SET client_encoding TO 'UTF8'")
        cursor.copy_expert(
            f"COPY {report.table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)",
            stream,
            size=1 << 20,
        )
    except psycopg2.DataError as error:
        report.fail(_copy_problem(error), row=_copy_row(error))
        return False
    report.rows_total = side.scalar(text(f"SELECT count(*) FROM {report.table}"))
    if report.rows_total == 0:
        report.fail("The file has a header but no rows.")
        return False
    return True


def cell_problems(fmt: Format, report: Report) -> list[str]:
    """SELECTs of (row_no, column, message, value): bad cells and duplicate keys."""
    table = report.table
    cells = ", ".join(
        f"({literal(c.name)}, {check_sql(c)}, s.{c.name})"
        for c in fmt.columns
        if c.name in report.columns
    )
    quick = quick_check_sql(fmt, report.columns)
    key = f"lower(btrim(s.{fmt.key}))"
    duplicates = f"""
        SELECT s.row_no, {literal(fmt.key)},
               'appears more than once (first at row ' || (d.first_row + 1) || ')', s.{fmt.key}
        FROM {table} s
        JOIN (SELECT {key} AS k, min(s.row_no) AS first_row FROM {table} s
              WHERE coalesce({key}, '') <> '' GROUP BY 1 HAVING count(*) > 1) d ON {key} = d.k
        WHERE s.row_no > d.first_row"""
    return [
        f"""SELECT s.row_no, v.col, v.msg, v.val
            FROM (SELECT * FROM {table} s WHERE NOT coalesce({quick}, false)) s
            CROSS JOIN LATERAL (VALUES {cells}) AS v(col, msg, val) WHERE v.msg IS NOT NULL""",
        duplicates,
    ]


def problems(executor, parts: list[str]) -> list[tuple]:
    """The first MAX_ERRORS_KEPT problems the SELECTs find, each with the total count."""
    if not parts:
        return []
    union = " UNION ALL ".join(f"({part})" for part in parts)
    return list(
        executor.execute(
            text(
                f"SELECT row_no, col, msg, val, count(*) OVER ()"
                f" FROM ({union}) e(row_no, col, msg, val)"
                f" ORDER BY row_no, col LIMIT {MAX_ERRORS_KEPT}"
            )
        ).all()
    )


def record(report: Report, found: list[tuple], *more: list[tuple]) -> None:
    """Merge problem lists (each from its own query) into the report, in row order."""
    totals = sum(rows[0][4] for rows in (found, *more) if rows)
    merged = sorted((row for rows in (found, *more) for row in rows), key=lambda r: (r[0], r[1]))
    for row_no, column, message, value, _ in merged[:MAX_ERRORS_KEPT]:
        report.errors.append(
            {"row": row_no + 1, "column": column, "message": message, "value": _shown(value)}
        )
    report.error_count += totals


def borrower_check(table: str) -> str:
    """Loans name their borrower by email: it must be an active borrower's."""
    return f"""
        SELECT s.row_no, 'borrower_email',
               CASE WHEN u.id IS NULL THEN 'no account has this email'
                    WHEN u.role <> 'borrower' THEN 'belongs to a ' || u.role || ', not a borrower'
                    ELSE 'this borrower is suspended' END,
               s.borrower_email
        FROM {table} s LEFT JOIN users u ON u.email = lower(btrim(s.borrower_email))
        WHERE (u.id IS NULL AND btrim(s.borrower_email) ~ {literal(EMAIL_PATTERN)})
           OR u.role <> 'borrower' OR NOT u.is_active"""


def count_existing(session: Session, report: Report, table: str, column: str, key_sql: str) -> int:
    return session.scalar(
        text(
            f"SELECT count(*) FROM {report.table} s"
            f" WHERE EXISTS (SELECT 1 FROM {table} t WHERE t.{column} = {key_sql})"
        )
    )


def preview(session: Session, report: Report) -> list[list]:
    """The header, then the first rows as the file has them (lists: JSONB would reorder keys)."""
    columns = ", ".join(report.columns)
    rows = session.execute(
        text(f"SELECT {columns} FROM {report.table} ORDER BY row_no LIMIT {PREVIEW_ROWS}")
    ).all()
    return [list(report.columns)] + [[_shown(value) for value in row] for row in rows]


def include_in_schema(name: str, type_: str, parent_names: dict) -> bool:
    """For Alembic: staging tables are working files, not part of the schema (no drift)."""
    return not (type_ == "table" and name.startswith("import_stage_"))


def drop_stale(side: Connection) -> None:
    """Staging tables an interrupted import left behind (a crash, a rolled-back caller)."""
    cutoff = int(time.time()) - STALE_AFTER_SECONDS
    names = side.scalars(
        text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'import\\_stage\\_%'")
    ).all()
    for name in names:
        stamp = name.split("_")[2]
        if stamp.isdigit() and int(stamp) < cutoff:
            side.execute(text(f'DROP TABLE IF EXISTS "{name}"'))


def _read_header(fmt: Format, line: bytes, report: Report) -> list[str] | None:
    try:
        decoded = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.fail("The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again.", 1)
        return None
    names = [name.strip().lower() for name in next(csv.reader([decoded]), [])]
    if not any(names):
        report.fail("The file is empty: the first row must name the columns.", 1)
        return None
    unknown = [n for n in names if n not in fmt.by_name]
    missing = [n for n in fmt.required if n not in names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if unknown:
        report.fail("Unknown columns: " + ", ".join(unknown) + ".", 1)
    if missing:
        report.fail("Missing columns: " + ", ".join(missing) + ".", 1)
    if repeated:
        report.fail("Columns named twice: " + ", ".join(repeated) + ".", 1)
    if unknown or missing or repeated:
        report.errors[-1]["message"] += " Expected: " + ", ".join(fmt.by_name) + "."
        return None
    report.columns = names
    return names


def _copy_row(error: psycopg2.Error) -> int | None:
    match = _COPY_LINE.search(error.diag.context or "")
    return int(match.group(1)) + 1 if match else None  # COPY counts lines after the header


def _copy_problem(error: psycopg2.Error) -> str:
    message = error.diag.message_primary or str(error)
    if error.pgcode == "22021" or "encoding" in message:
        return "This row is not UTF-8 text: save the file as “CSV UTF-8” and upload it again."
    if "extra data after last expected column" in message:
        return "This row has more cells than the header has columns."
    if "missing data for column" in message:
        return "This row has fewer cells than the header has columns."
    if "unterminated CSV quoted field" in message:
        return "A quoted cell is never closed."
    return f"This row could not be read: {message}."


def _shown(value: str | None) -> str | None:
    return value if value is None or len(value) <= 80 else value[:77] + "…"
