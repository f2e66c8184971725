"""Investing under contention: $25 notes into one hot listed loan, the service against a floor.

    python benchmarks/investing.py [--seconds 8] [--lenders 2000] [--skip-http]

Builds (set-based) lenders each holding plenty of cash (one opening ledger entry, so
`ledger.verify` stays clean), a bearer token per lender, and one $50,000,000 listed loan per
phase so it never fills. Then, in this process, for 1, 4 and 16 threads: `investing.invest` +
COMMIT (each thread its own Session, lenders round-robin, a fresh idempotency key per call)
right beside a floor of raw psycopg2 doing only the guarded UPDATE of the loan and one note
INSERT per COMMIT, on its own hot loan and its own lenders (floor notes have no ledger entry,
so its lenders hold no ledger accounts for `verify` to compare). Then, unless --skip-http,
POST /api/v1/investments on gunicorn (bearer tokens round-robin, a fresh Idempotency-Key each)
against `benchmarks/investing_floor.py`, a bare Flask app doing the floor SQL, both on the same
gunicorn settings as the marketplace benchmark, 16 connections. Then, if the service has
`placement.invest_many`, 20,000 orders over 200 loans placed in one call. It checks each loan's funded
amount against its notes and `ledger.verify`, prints a table and ends with one JSON line
(`ratio_16`: service / floor at 16 threads in process, `ratio_http`: through gunicorn).

Setup choices that keep the figures steady-state: the service's lenders hold their cash and
committed ledger accounts before the run, and their tokens were last used a moment ago (a
token's first use in five minutes writes `last_used_at`). The in-process service runs on the
app's own engine (its options and pool events) with a pool as large as the thread count (the
default 5 + 10 would make the 16th thread wait for a connection). The API's money rate limit
and the per-loan cap are raised for the bench (configuration, not code).
"""

import argparse
import http.client
import itertools
import json
import os
import secrets
import signal
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from benchmarks._setup import fresh_app, serve_gunicorn  # noqa: E402

NOTE = Decimal("25.00")
CASH_EACH = Decimal("1000000.00")  # 40,000 notes per lender: cash never runs out
HOT_LOAN = Decimal("50000000.00")  # 2,000,000 notes: never fills
THREADS = (1, 4, 16)
CONNECTIONS = 16
BULK_LOANS = 200
BULK_ORDERS = 20_000
BIG_CAP = Decimal("1000000000.00")  # the per-loan cap, raised (round-robin keeps far below 5,000)
FLOOR_RESERVE = (
    "UPDATE loans SET funded_amount = funded_amount + %(amount)s "
    "WHERE id = %(loan)s AND funded_amount + %(amount)s <= amount RETURNING funded_amount"
)
FLOOR_NOTE = (
    "INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status, "
    "auto_invested, auto_invest_reason, created_at, updated_at) "
    "VALUES (%(loan)s, %(lender)s, %(amount)s, 0, 'committed', false, NULL, now(), now()) "
    "RETURNING id"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8, help="per phase")
    parser.add_argument("--lenders", type=int, default=2000)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    app = with_pool_for(max(THREADS), fresh_app("communitylend_bench_investing"))
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg2", "")
    from app.extensions import db
    from app.services.lending import investing
    from app.services.money import ledger
    from app.services.policy import DEFAULT_POLICY

    policy = replace(DEFAULT_POLICY, max_investment_per_loan=BIG_CAP)
    with app.app_context():
        started = time.perf_counter()
        people = seed(db.session, args.lenders)
        print(
            f"setup: {args.lenders:,} lenders (+ as many floor lenders) in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        engine = db.engine
    service_lenders = RoundRobin(people["lenders"])
    floor_lenders = RoundRobin(people["floor_lenders"])
    phases, loans = {}, {}

    def hot(name: str) -> int:
        with app.app_context():
            loans[name] = make_loans(db.session, 1, HOT_LOAN)[0]
            db.session.commit()
        return loans[name]

    def service_call(session, loan_id):
        investing.invest(
            session,
            lender_id=service_lenders.next(),
            loan_id=loan_id,
            amount=NOTE,
            idempotency_key=uuid.uuid4().hex,
            policy=policy,
        )
        session.commit()

    # Warm-up (discarded): first-use costs of both paths, on loans of their own. Then the
    # statistics a running platform has (autovacuum's ANALYZE): each connection keeps the plans
    # its first calls chose, and chosen over empty tables they scan whole tables as they grow
    # (measured: 1.2 ms a call rising 0.2 ms per 1,000 notes). ANALYZE invalidates them.
    run_service(app, engine, service_call, hot("warmup service"), 4, 2)
    run_floor(url, floor_lenders, hot("warmup floor"), 4, 2)
    with app.app_context():
        vacuum(db.session)
    for threads in THREADS:  # side by side, so the machine's noise hits both alike
        phases[f"service {threads}"] = run_service(
            app, engine, service_call, hot(f"service {threads}"), threads, args.seconds
        )
        phases[f"floor {threads}"] = run_floor(
            url, floor_lenders, hot(f"floor {threads}"), threads, args.seconds
        )
        print(
            f"{threads:>2} threads: service {phases[f'service {threads}']['per_s']}/s, "
            f"floor {phases[f'floor {threads}']['per_s']}/s",
            flush=True,
        )

    if not args.skip_http:
        http_phases(app, url, people, floor_lenders, hot, args.seconds, phases)

    bulk = run_bulk(app, db, policy, people["lenders"], loans)

    with app.app_context():
        checks = invariants(db.session, loans, phases)
        problems = ledger.verify(db.session)
        db.session.rollback()
    print("invariants:")
    for line in checks["lines"]:
        print(f"  {line}")
    print(f"  ledger.verify: {len(problems)} problems")
    for problem in problems[:20]:
        print(f"    {problem}")

    print_table(phases, args.skip_http)
    figures = figures_of(args, phases, bulk, checks, problems)
    print(json.dumps(figures))


# --- setup -------------------------------------------------------------------------------------


def with_pool_for(threads: int, app):
    """The same bench app (database, config, engine setup) with a pool of `threads` connections:
    the default 5 + 10 would leave the 16th thread waiting for one."""
    from app import create_app
    from config import TestConfig

    class InvestingBenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        SQLALCHEMY_ENGINE_OPTIONS = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "pool_size": threads,
            "max_overflow": 0,
        }

    from app.extensions import db

    with app.app_context():
        db.engine.dispose()  # the migrating app's connections
    return create_app(InvestingBenchConfig)


def seed(session, lenders: int) -> dict:
    """A borrower, the service's lenders (cash, committed account, token) and the floor's."""
    from sqlalchemy import insert

    from app.models import AccountKind, ApiToken
    from app.services.accounts import passwords
    from app.services.money import ledger

    def users(prefix: str, role: str, count: int) -> list[int]:
        return session.scalars(
            text(
                "INSERT INTO users (email, password_hash, role, first_name, last_name, country, "
                "identity_status, is_active, failed_login_count, net_worth, created_at, "
                "updated_at) SELECT :prefix || g || '@example.com', 'x', :role, 'Bench', "
                "'Person', 'US', 'verified', true, 0, 10000000, now(), now() "
                "FROM generate_series(1, :count) g "
                "ORDER BY g RETURNING id"
            ),
            {"prefix": prefix, "role": role, "count": count},
        ).all()

    borrower = users("borrower", "borrower", 1)[0]
    lender_ids = users("lender", "lender", lenders)
    floor_ids = users("floor", "lender", lenders)
    cash = ledger.accounts_for(session, AccountKind.LENDER_CASH, "owner_id", lender_ids)
    ledger.accounts_for(session, AccountKind.LENDER_COMMITTED, "owner_id", lender_ids)
    clearing = ledger.account(session, AccountKind.PROCESSOR_CLEARING)
    ledger.post(
        session,
        "deposit",
        "Benchmark opening cash",
        [ledger.debit(clearing, CASH_EACH * len(lender_ids))]
        + [ledger.Leg(cash[lender], -CASH_EACH) for lender in lender_ids],
        idempotency_key="bench-opening-cash",
    )
    now = datetime.now(UTC)
    tokens = {lender: secrets.token_urlsafe(32) for lender in lender_ids}
    session.execute(
        insert(ApiToken),
        [
            {
                "user_id": lender,
                "token_hash": passwords.token_digest(secret),
                "name": "bench",
                "expires_at": now + timedelta(days=30),
                "last_used_at": now,  # steady state: not a first use that writes
            }
            for lender, secret in tokens.items()
        ],
    )
    session.commit()
    vacuum(session)
    return {
        "borrower": borrower,
        "lenders": lender_ids,
        "floor_lenders": floor_ids,
        "tokens": [tokens[lender] for lender in lender_ids],
    }


def make_loans(session, count: int, amount: Decimal) -> list[int]:
    """`count` listed loans of `amount`, nothing funded, open for two weeks."""
    borrower = session.scalar(text("SELECT min(id) FROM users WHERE role = 'borrower'"))
    return session.scalars(
        text("""
        INSERT INTO loans (borrower_id, amount, requested_amount, term_months, purpose, status,
            annual_income, monthly_debt, credit_score, credit_history_months, revolving_balance,
            revolving_utilization, inquiries_6m, delinquencies_2y, public_records, risk_grade,
            interest_rate, apr, origination_fee_rate, origination_fee, monthly_payment,
            funded_amount, principal_outstanding, listed_at, funding_deadline, days_past_due,
            created_at, updated_at)
        SELECT :borrower, :amount, :amount, 36, 'debt_consolidation', 'listed', 90000, 900, 720,
            120, 8000, 40, 1, 0, 0, 'B3', 10.99, NULL, 5, 0, NULL, 0, 0, now(),
            now() + interval '14 days', 0, now(), now()
        FROM generate_series(1, :count) g ORDER BY g RETURNING id
        """),
        {"borrower": borrower, "amount": amount, "count": count},
    ).all()


def vacuum(session) -> None:
    with session.get_bind().connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


class RoundRobin:
    """The next id, shared by threads: a lender comes round again only after all the others."""

    def __init__(self, ids):
        self._ids, self._count, self._lock = list(ids), itertools.count(), threading.Lock()

    def next(self):
        with self._lock:
            index = next(self._count)
        return self._ids[index % len(self._ids)]


# --- in process --------------------------------------------------------------------------------


def run_service(app, engine, call, loan_id: int, threads: int, seconds: float) -> dict:
    from sqlalchemy.orm import Session

    from app.services.errors import DomainError

    def worker(record):
        with app.app_context(), Session(engine) as session:
            record.ready()
            while time.monotonic() < record.stop:
                began = time.perf_counter()
                try:
                    call(session, loan_id)
                except DomainError as error:
                    session.rollback()
                    record.fail(type(error).__name__ + ": " + str(error))
                    continue
                record.ok(began)

    return drive(worker, threads, seconds) | {"loan": loan_id}


def run_floor(url: str, lenders: RoundRobin, loan_id: int, threads: int, seconds: float) -> dict:
    import psycopg2

    def worker(record):
        connection = psycopg2.connect(url)  # autocommit off: UPDATE + INSERT, then COMMIT
        try:
            with connection.cursor() as cursor:
                record.ready()
                while time.monotonic() < record.stop:
                    began = time.perf_counter()
                    params = {"loan": loan_id, "lender": lenders.next(), "amount": NOTE}
                    cursor.execute(FLOOR_RESERVE, params)
                    if cursor.fetchone() is None:
                        connection.rollback()
                        record.fail("loan full")
                        continue
                    cursor.execute(FLOOR_NOTE, params)
                    cursor.fetchone()
                    connection.commit()
                    record.ok(began)
        finally:
            connection.close()

    return drive(worker, threads, seconds) | {"loan": loan_id}


class Recorder:
    """Latencies and refusals of one phase; every worker starts on the same signal."""

    def __init__(self, threads: int, seconds: float):
        self.latencies, self.failures, self.lock = [], Counter(), threading.Lock()
        self.barrier = threading.Barrier(threads + 1)
        self.seconds, self.stop = seconds, 0.0

    def ready(self):
        self.barrier.wait()

    def ok(self, began: float):
        elapsed = (time.perf_counter() - began) * 1000
        with self.lock:
            self.latencies.append(elapsed)

    def fail(self, reason: str):
        with self.lock:
            self.failures[reason[:120]] += 1


def drive(worker, threads: int, seconds: float) -> dict:
    record = Recorder(threads, seconds)
    errors = []

    def guarded():
        try:
            worker(record)
        except BaseException as error:  # a crash must not hang the barrier or pass silently
            errors.append(error)
            record.barrier.abort()
            raise

    pool = [threading.Thread(target=guarded) for _ in range(threads)]
    for thread in pool:
        thread.start()
    record.stop = time.monotonic() + seconds  # set before release: workers read it after
    try:
        record.barrier.wait()
    except threading.BrokenBarrierError:
        pass
    began = time.monotonic()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - began
    if errors:
        raise SystemExit(f"a worker crashed: {errors[0]!r}")
    return summary(record.latencies, record.failures, elapsed, threads)


def summary(latencies: list, failures: Counter, elapsed: float, threads: int) -> dict:
    latencies = sorted(latencies)
    return {
        "threads": threads,
        "n": len(latencies),
        "per_s": round(len(latencies) / elapsed, 1),
        "p50": round(statistics.median(latencies), 2) if latencies else None,
        "p99": round(latencies[int(len(latencies) * 0.99)], 2) if latencies else None,
        "failures": dict(failures),
    }


# --- through HTTP ------------------------------------------------------------------------------


def http_phases(app, url, people, floor_lenders, hot, seconds, phases) -> None:
    from app.extensions import db

    environment = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "BENCH_DATABASE_URL": url,
        "SECRET_KEY": "benchmark-secret-not-for-production",
        "LOG_LEVEL": "WARNING",
        "API_MONEY_RATE_LIMIT": "1000000 per minute",
        "MAX_INVESTMENT_PER_LOAN": str(BIG_CAP),
    }
    product = serve_gunicorn("wsgi:app", environment)
    floor = serve_gunicorn("benchmarks.investing_floor:app", environment)
    tokens = RoundRobin(people["tokens"])
    try:

        def service_request(loan_id):
            def build():
                body = json.dumps({"loanId": loan_id, "amount": str(NOTE)})
                return (
                    "/api/v1/investments",
                    body,
                    {
                        "Authorization": f"Bearer {tokens.next()}",
                        "Idempotency-Key": uuid.uuid4().hex,
                        "Content-Type": "application/json",
                    },
                )

            return build

        def floor_request(loan_id):
            def build():
                body = json.dumps(
                    {"loan_id": loan_id, "lender_id": floor_lenders.next(), "amount": str(NOTE)}
                )
                return "/floor/invest", body, {"Content-Type": "application/json"}

            return build

        load(product, service_request(hot("http warmup service")), 2, CONNECTIONS)
        load(floor, floor_request(hot("http warmup floor")), 2, CONNECTIONS)
        with app.app_context():
            vacuum(db.session)
        phases["http service"] = load(
            product, service_request(hot("http service")), seconds, CONNECTIONS
        )
        phases["http floor"] = load(floor, floor_request(hot("http floor")), seconds, CONNECTIONS)
    finally:
        for process in (product, floor):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    for name in ("http service", "http floor"):
        phase = phases[name]
        print(
            f"{name}: {phase['per_s']}/s, {phase['non_success']} non-success answers"
            + (f" {phase['statuses']} e.g. {phase['sample']}" if phase["non_success"] else ""),
            flush=True,
        )


def load(server, build, seconds: float, connections: int) -> dict:
    """`connections` keep-alive clients POSTing for `seconds`; 200/201 count, the rest are listed.

    (gunicorn's sync workers close after each answer; http.client then reconnects.)"""
    stop = time.monotonic() + seconds
    latencies, statuses, samples, lock = [], Counter(), [], threading.Lock()

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        while time.monotonic() < stop:
            path, body, headers = build()
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                status = response.status
            except (http.client.HTTPException, OSError) as error:
                connection.close()
                status, payload = type(error).__name__, b""
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if status in (200, 201):
                    latencies.append(elapsed)
                else:
                    statuses[status] += 1
                    if len(samples) < 3:
                        samples.append(payload[:300].decode(errors="replace"))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    result = summary(latencies, Counter(), elapsed, connections)
    return result | {
        "non_success": sum(statuses.values()),
        "statuses": {str(k): v for k, v in statuses.items()},
        "sample": samples[:1],
    }


# --- bulk --------------------------------------------------------------------------------------


def run_bulk(app, db, policy, lender_ids, loans) -> dict:
    """20,000 orders over 200 loans in one `invest_many` call and one COMMIT."""
    from sqlalchemy.orm import Session

    from app.services.lending import placement

    with app.app_context():
        bulk_loans = make_loans(db.session, BULK_LOANS, Decimal("10000.00"))
        db.session.commit()
        engine = db.engine
        count = len(lender_ids)
        # Lender i % L, loan shifted each round: one lender's orders land in different loans.
        orders = [
            placement.Order(
                lender_id=lender_ids[i % count],
                loan_id=bulk_loans[(i + i // count) % BULK_LOANS],
                amount=NOTE,
                idempotency_key=f"bulk-{i}-{uuid.uuid4().hex[:12]}",
            )
            for i in range(BULK_ORDERS)
        ]
        with Session(engine) as session:
            started = time.perf_counter()
            results = placement.invest_many(session, orders, policy=policy)
            session.commit()
            seconds = time.perf_counter() - started
    for loan_id in bulk_loans:
        loans[f"bulk {loan_id}"] = loan_id
    notes = sum(isinstance(result, placement.Note) for result in results)
    refused = Counter(
        type(result).__name__ + ": " + str(result)[:80]
        for result in results
        if not isinstance(result, placement.Note)
    )
    print(
        f"bulk: {notes:,} of {len(orders):,} orders placed in {seconds:.2f} s "
        f"({notes / seconds:,.0f} notes/s); refused: {dict(refused) or 0}",
        flush=True,
    )
    return {
        "notes": notes,
        "orders": len(orders),
        "seconds": round(seconds, 3),
        "per_s": round(notes / seconds, 1),
        "refused": sum(refused.values()),
    }


# --- checks and report -------------------------------------------------------------------------


def invariants(session, loans: dict, phases: dict) -> dict:
    """Each loan's funded amount is the sum of its notes; each phase's successes are its notes."""
    rows = {
        row.id: row
        for row in session.execute(
            text(
                "SELECT l.id, l.funded_amount, coalesce(sum(i.amount), 0) AS notes_sum, "
                "count(i.id) AS notes FROM loans l LEFT JOIN investments i ON i.loan_id = l.id "
                "AND i.status <> 'refunded' WHERE l.id = ANY(:ids) GROUP BY l.id"
            ),
            {"ids": list(loans.values())},
        )
    }
    lines, ok = [], True
    bulk_ids = [loan_id for name, loan_id in loans.items() if name.startswith("bulk ")]
    for name, loan_id in loans.items():
        if name.startswith("bulk "):
            continue
        row = rows[loan_id]
        same = row.funded_amount == row.notes_sum
        counted = phases.get(name, {}).get("n")
        matches = counted is None or counted == row.notes
        ok = ok and same and matches
        lines.append(
            f"{name} (loan {loan_id}): funded {row.funded_amount} = notes {row.notes_sum} "
            f"({row.notes} notes{'' if counted is None else f', {counted} counted'}) "
            f"{'ok' if same and matches else 'MISMATCH'}"
        )
    if bulk_ids:
        bad = [i for i in bulk_ids if rows[i].funded_amount != rows[i].notes_sum]
        ok = ok and not bad
        lines.append(
            f"bulk loans ({len(bulk_ids)}): funded = notes for "
            f"{len(bulk_ids) - len(bad)}, MISMATCH for {len(bad)}"
        )
    return {"ok": ok, "lines": lines}


def print_table(phases: dict, skip_http: bool) -> None:
    def pair(phase):
        return f"{phase['p50']} / {phase['p99']}"

    print()
    print(
        "| phase | threads | service inv/s | floor tx/s | ratio | service p50/p99 ms "
        "| floor p50/p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [("in-process", phases[f"service {t}"], phases[f"floor {t}"]) for t in THREADS]
    if not skip_http:
        rows.append(("http (gunicorn)", phases["http service"], phases["http floor"]))
    for label, service, floor in rows:
        print(
            f"| {label} | {service['threads']} | {service['per_s']} | {floor['per_s']} | "
            f"{_ratio(service['per_s'], floor['per_s'])} | {pair(service)} | {pair(floor)} |"
        )
    for name, phase in phases.items():
        if phase["failures"]:
            print(f"refusals in {name}: {phase['failures']}")
    print()


def figures_of(args, phases, bulk, checks, problems) -> dict:
    figures = {"seconds": args.seconds, "lenders": args.lenders}
    for threads in THREADS:
        service, floor = phases[f"service {threads}"], phases[f"floor {threads}"]
        figures[f"ratio_{threads}"] = _ratio(service["per_s"], floor["per_s"])
    http_service, http_floor = phases.get("http service"), phases.get("http floor")
    figures["ratio_http"] = (
        _ratio(http_service["per_s"], http_floor["per_s"]) if http_service else None
    )
    for threads in THREADS:
        figures[f"service_per_s_{threads}"] = phases[f"service {threads}"]["per_s"]
        figures[f"floor_per_s_{threads}"] = phases[f"floor {threads}"]["per_s"]
    for threads in THREADS:
        figures[f"service_p50_ms_{threads}"] = phases[f"service {threads}"]["p50"]
        figures[f"service_p99_ms_{threads}"] = phases[f"service {threads}"]["p99"]
        figures[f"floor_p50_ms_{threads}"] = phases[f"floor {threads}"]["p50"]
        figures[f"floor_p99_ms_{threads}"] = phases[f"floor {threads}"]["p99"]
    figures["p99_ratio_16"] = _ratio(figures["service_p99_ms_16"], figures["floor_p99_ms_16"])
    figures["http_service_per_s"] = http_service["per_s"] if http_service else None
    figures["http_floor_per_s"] = http_floor["per_s"] if http_floor else None
    figures["http_service_p99_ms"] = http_service["p99"] if http_service else None
    figures["http_floor_p99_ms"] = http_floor["p99"] if http_floor else None
    figures["http_non_success"] = (
        http_service["non_success"] + http_floor["non_success"] if http_service else None
    )
    figures["refusals"] = sum(sum(p["failures"].values()) for p in phases.values())
    figures["bulk_notes_per_s"] = bulk["per_s"] if bulk else None
    figures["bulk_notes"] = bulk["notes"] if bulk else None
    figures["bulk_seconds"] = bulk["seconds"] if bulk else None
    figures["invariants_ok"] = checks["ok"]
    figures["ledger_problems"] = len(problems)
    return figures


def _ratio(a, b):
    return round(a / b, 3) if a and b else None


if __name__ == "__main__":
    main()
