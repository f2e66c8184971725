"""The secondary market under contention: 16 buyers through one book of listed notes, against
the primary-investing floor (an atomic guarded UPDATE + one INSERT per COMMIT).

    python benchmarks/secondary.py [--seconds 8] [--loans 100] [--sweep-only]

Setup, through the services: lenders with plenty of cash (`benchmarks/investing.py`'s seed),
`--loans` $10,000 loans filled by `invest_many` with $125 notes round-robin across the
sellers and issued (schedules, active notes, ledger), then every note listed at par. Then, in
this process, the floor of `investing.py` with 16 threads on its own hot loan, and 16 threads
calling `trades.buy` + COMMIT for `--seconds` twice: on half the book each buyer takes the
next listing (`ratio_trades`: trades/s over the floor's tx/s, goal >= 0.5); on the other half
a buyer takes one of the next three at random, so buyers collide and the listing row decides
(`ratio_racing`, with the refusals a second). Then the auto-invest sweep: `--sweep-lenders`
lenders (10,000) each with a strategy built from a preset and $100 to spend above its
reserve, over `--sweep-listings` (1,000) new listings of mixed grades, terms and borrowers:
one call of `strategy_sweep.sweep` (plan and placement), timed (`sweep_seconds`, goal <= 10).
Checks: each listing sold at most once, every trade's listing sold, no listing funded past its
last-notes reserve by the sweep, `ledger.verify`. Prints a table and ends with one JSON line.
"""

import argparse
import json
import random
import sys
import threading
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from benchmarks._setup import fresh_app  # noqa: E402
from benchmarks.investing import (  # noqa: E402
    RoundRobin,
    drive,
    make_loans,
    run_floor,
    seed,
    vacuum,
    with_pool_for,
)

THREADS = 16
NOTE = Decimal("125.00")
LOAN = Decimal("10000.00")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--loans", type=int, default=250)
    parser.add_argument("--lenders", type=int, default=1000)
    parser.add_argument("--sweep-lenders", type=int, default=10_000)
    parser.add_argument("--sweep-listings", type=int, default=1_000)
    parser.add_argument("--sweep-only", action="store_true", help="skip the trading phases")
    args = parser.parse_args()
    app = with_pool_for(THREADS, fresh_app("communitylend_bench_secondary"))
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg2", "")
    from app.extensions import db
    from app.services.money import ledger

    with app.app_context():
        started = time.perf_counter()
        people = seed(db.session, args.lenders)
        half = len(people["lenders"]) // 2
        sellers, buyers = people["lenders"][:half], people["lenders"][half:]
        book = build_book(db.session, sellers, 1 if args.sweep_only else args.loans)
        print(
            f"setup: {len(book):,} notes listed in {args.loans} loans "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        floor_loan = make_loans(db.session, 1, Decimal("50000000.00"))[0]
        db.session.commit()
        engine = db.engine
    seconds = 0.5 if args.sweep_only else args.seconds
    book_buyers = RoundRobin(buyers)
    # Warm-up (discarded) on the book's first tenth, then the statistics a running market has
    # (autovacuum's ANALYZE): plans chosen over the empty trades table would otherwise stay
    # with each pooled connection while the table grows (see investing.py).
    warm = len(book) // 10
    run_trades(app, engine, book[:warm], book_buyers, min(seconds, 2), reach=1)
    with app.app_context():
        vacuum(db.session)
    floor = run_floor(url, RoundRobin(people["floor_lenders"]), floor_loan, THREADS, seconds)
    half_book = warm + (len(book) - warm) // 2
    trades_phase = run_trades(app, engine, book[warm:half_book], book_buyers, seconds, reach=1)
    racing = run_trades(app, engine, book[half_book:], book_buyers, seconds, reach=3)
    print(
        f"trades: {trades_phase['per_s']}/s (racing: {racing['per_s']}/s); "
        f"floor: {floor['per_s']}/s",
        flush=True,
    )
    sweep = run_sweep(app, args.sweep_lenders, args.sweep_listings)
    print(
        f"sweep: {sweep['notes']:,} notes for {args.sweep_lenders:,} strategies over "
        f"{args.sweep_listings:,} listings in {sweep['seconds']} s",
        flush=True,
    )
    with app.app_context():
        checks = invariants(db.session)
        problems = ledger.verify(db.session)
        db.session.rollback()
    ratio = round(trades_phase["per_s"] / floor["per_s"], 3) if floor["per_s"] else None
    print_table({"trades": trades_phase, "racing": racing, "floor": floor})
    print(f"invariants: {checks}; ledger.verify: {len(problems)} problems")
    for problem in problems[:10]:
        print(f"  {problem}")
    print(
        json.dumps(
            {
                "benchmark": "secondary",
                "threads": THREADS,
                "seconds": seconds,
                "listings": len(book),
                "trades_per_s": trades_phase["per_s"],
                "floor_per_s": floor["per_s"],
                "ratio_trades": ratio,
                "trades_p99_ms": trades_phase["p99"],
                "floor_p99_ms": floor["p99"],
                "refused": sum(trades_phase["failures"].values()),
                "racing_trades_per_s": racing["per_s"],
                "racing_refused_per_s": round(
                    sum(racing["failures"].values()) / max(seconds, 0.001), 1
                ),
                "ratio_racing": round(racing["per_s"] / floor["per_s"], 3)
                if floor["per_s"]
                else None,
                "sweep_lenders": args.sweep_lenders,
                "sweep_listings": args.sweep_listings,
                "sweep_notes": sweep["notes"],
                "sweep_seconds": sweep["seconds"],
                "sold_twice": checks["sold_twice"],
                "ledger_problems": len(problems),
            }
        )
    )


def build_book(session, sellers: list[int], loan_count: int) -> list[tuple[int, Decimal]]:
    """Issued loans whose notes are all listed at par: [(listing id, price today)]."""
    from app.services.lending import issuance, placement
    from app.services.policy import DEFAULT_POLICY
    from app.services.trading import book, pricing

    loans = make_loans(session, loan_count, LOAN)
    per_loan = int(LOAN / NOTE)
    orders = [
        placement.Order(
            lender_id=sellers[(index * per_loan + slot) % len(sellers)],
            loan_id=loan_id,
            amount=NOTE,
            idempotency_key=f"book-{loan_id}-{slot}",
        )
        for index, loan_id in enumerate(loans)
        for slot in range(per_loan)
    ]
    placement.invest_many(session, orders)
    for loan_id in loans:
        issuance.issue_loan(session, loan_id, today=date.today())
    session.execute(
        text(
            "INSERT INTO note_listings (investment_id, seller_id, markup_percent, status, "
            "listed_loan_status, created_at, updated_at) SELECT id, lender_id, 0, 'listed', "
            "'current', now(), now() FROM investments WHERE status = 'active' ORDER BY id"
        )
    )
    session.commit()
    vacuum(session)
    schedules = book.open_installments(session, loans)
    rows = session.execute(
        text(
            "SELECT nl.id, i.principal_outstanding, i.amount, l.funded_amount, l.id FROM "
            "note_listings nl JOIN investments i ON i.id = nl.investment_id "
            "JOIN loans l ON l.id = i.loan_id ORDER BY nl.id"
        )
    ).all()
    priced = []
    for listing_id, principal, amount, funded, loan_id in rows:
        quote = pricing.note_quote(
            principal=principal,
            note_amount=amount,
            funded_amount=funded,
            installments=schedules[loan_id],
            as_of=date.today(),
            markup_percent=Decimal(0),
            fee_percent=DEFAULT_POLICY.trading_fee_percent,
        )
        priced.append((listing_id, quote.price))
    return priced


def run_trades(app, engine, listed, buyers: RoundRobin, seconds: float, reach: int) -> dict:
    """Buyers take the book from its head: each the next listing (`reach` 1), or one of the
    next `reach`, so that some reach for the same one and the listing row decides."""
    from sqlalchemy.orm import Session

    from app.services.errors import DomainError
    from app.services.trading import trades

    cursor, lock, today = [0], threading.Lock(), date.today()

    def next_listing():
        with lock:  # the head of the book; a buyer sometimes reaches for a neighbour's
            cursor[0] += 1
            index = cursor[0] + random.randrange(reach)
        return listed[index % len(listed)]

    def worker(record):
        with app.app_context(), Session(engine) as session:
            record.ready()
            while time.monotonic() < record.stop:
                listing_id, price = next_listing()
                began = time.perf_counter()
                try:
                    trades.buy(
                        session,
                        buyer_id=buyers.next(),
                        listing_id=listing_id,
                        expected_price=price,
                        expected_status="current",
                        idempotency_key=uuid.uuid4().hex,
                        today=today,
                    )
                    session.commit()
                except DomainError as error:
                    session.rollback()
                    record.fail(type(error).__name__ + ": " + error.message[:40])
                    continue
                record.ok(began)

    return drive(worker, THREADS, seconds)


def run_sweep(app, lender_count: int, listing_count: int) -> dict:
    """Strategies for `lender_count` new lenders, `listing_count` new listings, one sweep."""
    from app.extensions import db
    from app.services.lending import strategy_sweep

    with app.app_context():
        people = _sweep_lenders(db.session, lender_count)
        db.session.execute(
            text(
                "INSERT INTO invest_strategies (lender_id, name, enabled, preset, grade_weights, "
                "terms, amount_per_note, max_per_loan, max_loan_share_percent, max_per_borrower, "
                "cash_reserve, buy_secondary, max_markup_percent, reinvest_repayments, "
                "created_at, updated_at) SELECT id, 'Bench', true, NULL, (ARRAY["
                '\'{"A": 60, "B": 40}\', \'{"A": 20, "B": 35, "C": 30, "D": 15}\', '
                '\'{"B": 10, "C": 30, "D": 35, "E": 25}\'])[1 + id % 3]::jsonb, '
                "'[]', 25, 25, 100, 25, :reserve, false, 0, true, now(), now() "
                "FROM users WHERE id = ANY(:ids)"
            ),
            {"ids": people, "reserve": CASH_RESERVE},
        )
        borrowers = db.session.scalars(
            text(
                "INSERT INTO users (email, password_hash, role, first_name, last_name, country, "
                "identity_status, is_active, failed_login_count, created_at, updated_at) "
                "SELECT 'sweep-borrower' || g || '@example.com', 'x', 'borrower', 'Bench', "
                "'Borrower', 'US', 'verified', true, 0, now(), now() "
                "FROM generate_series(1, :count) g ORDER BY g RETURNING id"
            ),
            {"count": listing_count},
        ).all()
        loans = make_loans(db.session, listing_count, LOAN)
        db.session.execute(
            text(
                "UPDATE loans SET borrower_id = b.id, risk_grade = substr('ABCDE', CAST(1 + b.n % 5 AS int), 1) "
                "|| '3', term_months = CASE WHEN b.n % 4 = 0 THEN 60 ELSE 36 END "
                "FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users "
                "WHERE id = ANY(:borrowers)) b, (SELECT id, row_number() OVER (ORDER BY id) AS n "
                "FROM loans WHERE id = ANY(:loans)) l WHERE loans.id = l.id AND l.n = b.n"
            ),
            {"borrowers": borrowers, "loans": loans},
        )
        db.session.commit()
        vacuum(db.session)
        started = time.perf_counter()
        result = strategy_sweep.sweep(db.session, loan_ids=None, secondary=False)
        db.session.commit()
        seconds = round(time.perf_counter() - started, 2)
    return {"notes": result.primary, "seconds": seconds}


CASH_RESERVE = Decimal("999900.00")  # $1,000,000 each: $100 to spend


def _sweep_lenders(session, count: int) -> list[int]:
    """`count` lenders with $1,000,000 each (one opening entry) and a declared net worth."""
    from app.models import AccountKind
    from app.services.money import ledger

    ids = session.scalars(
        text(
            "INSERT INTO users (email, password_hash, role, first_name, last_name, country, "
            "identity_status, is_active, failed_login_count, net_worth, created_at, updated_at) "
            "SELECT 'sweeper' || g || '@example.com', 'x', 'lender', 'Bench', 'Sweeper', 'US', "
            "'verified', true, 0, 100000000, now(), now() FROM generate_series(1, :count) g "
            "ORDER BY g RETURNING id"
        ),
        {"count": count},
    ).all()
    cash = ledger.accounts_for(session, AccountKind.LENDER_CASH, "owner_id", ids)
    ledger.accounts_for(session, AccountKind.LENDER_COMMITTED, "owner_id", ids)
    clearing = ledger.account(session, AccountKind.PROCESSOR_CLEARING)
    each = Decimal("1000000.00")
    ledger.post(
        session,
        "deposit",
        "Benchmark opening cash for the sweep",
        [ledger.debit(clearing, each * len(ids))] + [ledger.Leg(cash[i], -each) for i in ids],
        idempotency_key="bench-sweep-cash",
    )
    return ids


def invariants(session) -> dict:
    sold_twice = session.scalar(
        text(
            "SELECT count(*) FROM (SELECT listing_id FROM note_trades GROUP BY listing_id "
            "HAVING count(*) > 1) t"
        )
    )
    unsold_trades = session.scalar(
        text(
            "SELECT count(*) FROM note_trades t JOIN note_listings l ON l.id = t.listing_id "
            "WHERE l.status <> 'sold'"
        )
    )
    past_reserve = session.scalar(
        text(
            "SELECT count(*) FROM loans WHERE status = 'listed' AND amount - funded_amount "
            "< greatest(amount * 0.10, 100) AND id IN (SELECT loan_id FROM investments "
            "WHERE strategy_id IS NOT NULL)"
        )
    )
    return {
        "sold_twice": sold_twice,
        "trades_on_unsold_listings": unsold_trades,
        "sweep_past_reserve": past_reserve,
    }


def print_table(phases: dict) -> None:
    print(f"{'phase':<10} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'n':>7}  refused")
    for name, phase in phases.items():
        print(
            f"{name:<10} {phase['per_s']:>8} {phase['p50']:>8} {phase['p99']:>8} "
            f"{phase['n']:>7}  {phase['failures']}"
        )


if __name__ == "__main__":
    main()
