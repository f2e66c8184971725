"""CSV import at database speed: 1,000,000 loan applications next to raw COPY of the same file.

    python benchmarks/import.py [--rows 1000000] [--borrowers 20000]

Imports the borrowers (users.csv), then times `imports.import_file` on a loans.csv of --rows
rows, end to end: hashing the file, COPY into staging, the set-based checks of every cell, the
borrower join and the insert into `loans` with its indexes and constraints, and the commit. The
baseline is a plain `COPY` of the same file into a table with the file's columns, also committed.
Ends with one JSON line; goal: ratio (import rows/s ÷ COPY rows/s) at least 0.5.
"""

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from benchmarks._setup import fresh_app  # noqa: E402

LOAN_COLUMNS = (
    "external_id,borrower_email,amount,term_months,purpose,annual_income,monthly_debt,"
    "credit_score,credit_history_months,revolving_balance,revolving_utilization,inquiries_6m,"
    "delinquencies_2y,public_records"
).split(",")
PURPOSES = ("debt_consolidation", "credit_card", "home_improvement", "business", "other")


def write_files(folder: Path, rows: int, borrowers: int) -> tuple[Path, Path]:
    rng = random.Random(42)
    users = folder / "users.csv"
    with users.open("w", newline="") as stream:
        out = csv.writer(stream)
        out.writerow(["email", "first_name", "last_name", "role"])
        for n in range(borrowers):
            out.writerow([f"borrower{n}@bench.example", "Bench", f"Borrower {n}", "borrower"])
    loans = folder / "loans.csv"
    with loans.open("w", newline="") as stream:
        out = csv.writer(stream)
        out.writerow(LOAN_COLUMNS)
        for n in range(rows):
            out.writerow(
                [
                    f"BENCH-{n:07d}",
                    f"borrower{rng.randrange(borrowers)}@bench.example",
                    f"{rng.randrange(1000, 40000)}.{rng.randrange(100):02d}",
                    rng.choice((36, 60)),
                    rng.choice(PURPOSES),
                    f"{rng.randrange(20000, 250000)}.00",
                    f"{rng.randrange(0, 4000)}.00",
                    rng.randrange(600, 850),
                    rng.randrange(12, 400),
                    f"{rng.randrange(0, 60000)}.00",
                    f"{rng.randrange(0, 100)}.{rng.randrange(10)}",
                    rng.randrange(0, 6),
                    rng.randrange(0, 3),
                    rng.randrange(0, 2),
                ]
            )
    return users, loans


def raw_copy_seconds(db, loans: Path, folder: Path) -> tuple[float, float]:
    """Plain COPY of the same rows: into the real `loans` table, and into a bare text table.

    The `loans` COPY is the floor the ratio is measured against (as in the platform's perf
    floors): a twin of the file whose rows carry the borrower's id instead of the email, loaded
    straight into the table with its keys, indexes and constraints, then truncated again.
    """
    twin = folder / "loans_with_ids.csv"
    ids = dict(db.session.execute(text("SELECT email, id FROM users")).all())
    with loans.open(newline="") as source, twin.open("w", newline="") as target:
        rows, out = csv.reader(source), csv.writer(target)
        header = next(rows)
        out.writerow(["borrower_id", "requested_amount", "status", header[0], *header[2:]])
        for row in rows:
            out.writerow([ids[row[1]], row[2], "submitted", row[0], *row[2:]])
    table_columns = "borrower_id, requested_amount, status, " + ", ".join(
        name for name in LOAN_COLUMNS if name != "borrower_email"
    )
    db.session.commit()
    db.session.execute(text("CHECKPOINT"))
    into_loans = _timed_copy(db, twin, f"loans ({table_columns})")
    db.session.execute(text("TRUNCATE loans CASCADE"))
    columns = ", ".join(f"{name} text" for name in LOAN_COLUMNS)
    db.session.execute(text(f"CREATE TABLE copy_floor ({columns})"))
    db.session.commit()
    db.session.execute(text("CHECKPOINT"))
    into_text = _timed_copy(db, loans, "copy_floor")
    db.session.execute(text("DROP TABLE copy_floor"))
    db.session.commit()
    db.session.execute(text("CHECKPOINT"))
    return into_loans, into_text


def _timed_copy(db, path: Path, target: str) -> float:
    started = time.perf_counter()
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    with path.open("rb") as stream:
        cursor.copy_expert(
            f"COPY {target} FROM STDIN WITH (FORMAT csv, HEADER true)", stream, size=1 << 20
        )
    db.session.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--borrowers", type=int, default=20_000)
    args = parser.parse_args()
    app = fresh_app("communitylend_bench_import")
    from app.extensions import db
    from app.services.platform import imports

    terms = (36, 60)
    with tempfile.TemporaryDirectory() as folder, app.app_context():
        users, loans = write_files(Path(folder), args.rows, args.borrowers)
        file_mb = round(loans.stat().st_size / 1e6, 1)
        started = time.perf_counter()
        batch, report = imports.import_file(db.session, "users", users, loan_terms=terms)
        db.session.commit()
        users_seconds = time.perf_counter() - started
        assert report.ok, report.errors[:5]
        db.session.execute(text("CHECKPOINT"))

        copy_seconds, copy_text_seconds = raw_copy_seconds(db, loans, Path(folder))

        started = time.perf_counter()
        batch, report = imports.import_file(db.session, "loans", loans, loan_terms=terms)
        db.session.commit()
        import_seconds = time.perf_counter() - started
        assert report.ok, report.errors[:5]
        stored = db.session.scalar(text("SELECT count(*) FROM loans"))

        started = time.perf_counter()
        again, repeat = imports.import_file(db.session, "loans", loans, loan_terms=terms)
        db.session.commit()
        repeat_seconds = time.perf_counter() - started
        after = db.session.scalar(text("SELECT count(*) FROM loans"))

    figures = {
        "rows": args.rows,
        "file_mb": file_mb,
        "users": args.borrowers,
        "users_seconds": round(users_seconds, 3),
        "copy_seconds": round(copy_seconds, 3),
        "copy_rows_per_s": round(args.rows / copy_seconds),
        "copy_text_seconds": round(copy_text_seconds, 3),
        "copy_text_rows_per_s": round(args.rows / copy_text_seconds),
        "import_seconds": round(import_seconds, 3),
        "import_rows_per_s": round(args.rows / import_seconds),
        "ratio": round(copy_seconds / import_seconds, 3),
        "loans_stored": stored,
        "reimport_seconds": round(repeat_seconds, 3),
        "reimport_added": after - stored,
    }
    print(f"users: {args.borrowers:,} in {users_seconds:.2f} s")
    print(
        f"COPY of the same rows into loans: {copy_seconds:.2f} s"
        f" ({figures['copy_rows_per_s']:,} rows/s); into a bare text table:"
        f" {copy_text_seconds:.2f} s ({figures['copy_text_rows_per_s']:,} rows/s)"
    )
    print(
        f"import of the same file: {import_seconds:.2f} s ({figures['import_rows_per_s']:,} rows/s)"
    )
    print(f"ratio {figures['ratio']} (goal ≥ 0.5); re-import added {after - stored} rows")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
