"""The living demo book's build, as `make run` does it: on the embedded PostgreSQL.

    python benchmarks/demo_book.py [--system-postgres]

Starts a throw-away embedded server (pgserver, as `make run` does: autovacuum on, a Unix
socket), migrates, seeds the demo people and stories, then builds the book
(`seeds/book.py`: 2,000 issued loans replayed over three years, 300 open listings, 150
lenders) and times it. The floor, run beside it in the same process and database, is a
fixed piece of the same work: 500 two-leg ledger entries, one by one. The machine's speed
varies by a fifth from hour to hour; `book_over_floor` does not. The goal: the whole first
`make run` (installs, about 80 s, then the book) under 240 s. Ends with one JSON line.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FLOOR_ENTRIES = 500


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--system-postgres", action="store_true", help="BENCH_DATABASE_URL")
    args = parser.parse_args()
    if args.system_postgres:
        from benchmarks._setup import fresh_app

        app = fresh_app("communitylend_bench_book")
    else:
        app = _embedded_app(Path(tempfile.mkdtemp(prefix="book-bench-")))
    from app.extensions import db
    from seeds import book
    from seeds import run as seed

    with app.app_context():
        seed(db.session)
        floor_s = _floor(db.session)
        started = time.perf_counter()
        lines = book.run(db.session)
        book_s = time.perf_counter() - started
    print(*lines, sep="\n")
    print(f"book {book_s:.0f} s; floor ({FLOOR_ENTRIES} ledger entries) {floor_s:.2f} s")
    figures = {"book_s": round(book_s, 1), "floor_s": round(floor_s, 3)}
    figures["book_over_floor"] = round(book_s / floor_s, 1)
    print(json.dumps(figures))


def _embedded_app(folder: Path):
    """An app on a new embedded server under `folder` (stopped when this process exits)."""
    url = f"postgresql+psycopg2://postgres@/communitylend?host={folder / 'pgdata'}"
    os.environ.update(DATABASE_URL=url, APP_ENV="development", SEED_DEMO_DATA="true")
    import app.devserver as devserver

    devserver.INSTANCE = folder
    devserver.embedded_database_url()
    from flask_migrate import upgrade

    from app import create_app
    from tests.database import MIGRATIONS

    app = create_app()
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app


def _floor(session) -> float:
    """Deposits one by one (an entry, two legs, an activity row each): the book's kind of work."""
    from sqlalchemy import select

    from app.models import Provider, Role, User
    from app.services.money import cash

    lender = session.scalars(select(User).where(User.role == Role.LENDER).limit(1)).one()
    started = time.perf_counter()
    for number in range(FLOOR_ENTRIES):
        cash.deposit(
            session,
            lender.id,
            Decimal("1.00"),
            provider=Provider.SIMULATED,
            idempotency_key=f"bench-floor-{number}",
        )
    session.commit()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
