"""Backups of the whole database with PostgreSQL's own tools, and restoring one.

`pg_dump --format=custom` writes one compressed, consistent snapshot (a single transaction at
REPEATABLE READ, so the ledger in it balances as it did at one instant), and `pg_restore`
rebuilds a database from it. A backup is checked by reading its table of contents before it is
called done; a restore runs in one transaction, so a bad archive changes nothing.
"""

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.services.errors import DomainError


@dataclass(frozen=True)
class Backup:
    path: Path
    size_bytes: int
    tables: int  # tables whose data the archive holds


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq's tools read it (no "+driver")."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(database_url: str, folder: Path, now: datetime | None = None) -> Backup:
    """Dump the database into `folder` as communitylend-<UTC time>.dump; checked, then kept."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"communitylend-{stamp}.dump"
    partial = path.with_suffix(".partial")
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}",
          f"--dbname={libpq_url(database_url)}"], "pg_dump")  # fmt: skip
    tables = _tables_in(partial)
    partial.rename(path)  # only a complete, readable archive gets the name a restore looks for
    return Backup(path, path.stat().st_size, tables)


def restore(archive: Path, database_url: str) -> None:
    """Rebuild the database at `database_url` from `archive`, all or nothing."""
    _tables_in(archive)  # refuse what is not a custom-format dump before touching anything
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--exit-on-error", f"--dbname={libpq_url(database_url)}", str(archive)],
         "pg_restore")  # fmt: skip


def table_counts(database_url: str) -> dict[str, int]:
    """Rows per table, to compare a restored database with its source."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            return {
                name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                for name in sorted(names)
            }
    finally:
        engine.dispose()


def verify_ledger(database_url: str) -> list[str]:
    """The ledger check, run on the database at `database_url`."""
    from app.services.money import ledger

    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return ledger.verify(session)
    finally:
        engine.dispose()


def _tables_in(archive: Path) -> int:
    listing = _run(["pg_restore", "--list", str(archive)], "pg_restore --list")
    return sum(1 for line in listing.splitlines() if " TABLE DATA " in line)


def _run(command: list[str], name: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)  # noqa: S603 - our own arguments
    except FileNotFoundError as error:
        raise DomainError(
            f"{name} is not installed (apt-get install postgresql-client)."
        ) from error
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise DomainError(f"{name} failed: {detail[-1] if detail else 'no output'}")
    return done.stdout
