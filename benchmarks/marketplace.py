"""Marketplace under load: 100,000 listed loans, the filtered/sorted/paged HTMX fragment (with its
total count) against a bare Flask floor running the same query, both on gunicorn, 16 connections.

    python benchmarks/marketplace.py [--loans 100000] [--seconds 10] [--connections 16]
"""

import argparse
import http.client
import http.cookiejar
import json
import os
import re
import signal
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from benchmarks._setup import fresh_app, serve_gunicorn  # noqa: E402

QUERY = "grade=A&term=36&min_amount=5000&max_amount=20000&sort=rate&page=21"
PASSWORD = "benchmark lender phrase 91"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    app = fresh_app("communitylend_bench_marketplace")
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg2", "")
    with app.app_context():
        email = seed(args.loans)
    environment = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "BENCH_DATABASE_URL": url,
        "SECRET_KEY": "benchmark-secret-not-for-production",
        "LOG_LEVEL": "WARNING",
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    product = serve_gunicorn("wsgi:app", environment)
    floor = serve_gunicorn("benchmarks.marketplace_floor:app", environment)
    try:
        cookie = sign_in(product, email)
        results = {}
        for name, (port, path, headers) in {
            "fragment": (
                product,
                f"/lender/loans?{QUERY}",
                {"Cookie": cookie, "HX-Request": "true"},
            ),
            "page": (product, f"/lender/loans?{QUERY}", {"Cookie": cookie}),
            "floor": (floor, "/floor", {}),
        }.items():
            load(port, path, headers, 2, args.connections)  # warm-up, discarded
            results[name] = load(port, path, headers, args.seconds, args.connections)
    finally:
        for process in (product, floor):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    figures = {
        "loans": args.loans,
        "connections": args.connections,
        "query": QUERY,
        "fragment_rps": results["fragment"]["rps"],
        "fragment_p50_ms": results["fragment"]["p50"],
        "fragment_p99_ms": results["fragment"]["p99"],
        "page_rps": results["page"]["rps"],
        "page_p99_ms": results["page"]["p99"],
        "floor_rps": results["floor"]["rps"],
        "floor_p99_ms": results["floor"]["p99"],
        "ratio": round(results["fragment"]["rps"] / results["floor"]["rps"], 3),
    }
    print(
        f"fragment {figures['fragment_rps']} req/s (p99 {figures['fragment_p99_ms']} ms) vs floor "
        f"{figures['floor_rps']} req/s (p99 {figures['floor_p99_ms']} ms): ratio {figures['ratio']}"
    )
    print(json.dumps(figures))


def seed(loans: int) -> str:
    from app.extensions import db
    from app.models import Role
    from app.services.accounts import accounts

    people = max(loans // 10, 10)
    db.session.execute(
        text(
            "INSERT INTO users (email, password_hash, role, first_name, last_name, country, identity_status,"
            " is_active, failed_login_count, created_at, updated_at) SELECT 'b' || g || '@example.com', 'x',"
            " 'borrower', 'B', 'P', 'US', CASE WHEN g % 3 = 0 THEN 'verified' ELSE 'unverified' END, true, 0,"
            " now(), now() FROM generate_series(1, :people) g"
        ),
        {"people": people},
    )
    db.session.execute(
        text("""
        INSERT INTO loans (borrower_id, amount, requested_amount, term_months, purpose, status,
            annual_income, monthly_debt, credit_score, credit_history_months, revolving_balance,
            revolving_utilization, inquiries_6m, delinquencies_2y, public_records, risk_grade,
            interest_rate, apr, origination_fee_rate, origination_fee, monthly_payment, funded_amount,
            principal_outstanding, listed_at, funding_deadline, days_past_due, created_at, updated_at)
        SELECT 1 + g % :people, a.amount, a.amount, CASE WHEN g % 3 = 0 THEN 60 ELSE 36 END,
            (ARRAY['debt_consolidation','credit_card','home_improvement','business','major_purchase',
                   'education','medical','auto','other'])[1 + g % 9],
            'listed', 30000 + (g % 90) * 1000, 300 + (g % 40) * 25, 620 + g % 200, 24 + g % 300,
            (g % 50) * 300, g % 100, g % 6, g % 3, g % 2,
            chr(65 + g % 5) || (1 + g % 5)::text, 6 + (g % 5) * 3 + (g % 7) * 0.25, NULL, 3, 0, NULL,
            floor(a.amount * (g % 90) / 100 / 25) * 25, 0,
            now() - (g % 13) * interval '1 day', now() + (1 + g % 13) * interval '1 day', 0, now(), now()
        FROM generate_series(1, :loans) g
        CROSS JOIN LATERAL (SELECT (1000 + (g * 7919 % 156) * 250)::numeric AS amount) a
        """),
        {"loans": loans, "people": people},
    )
    lender = accounts.register(
        db.session,
        email="bench.lender@example.com",
        password=PASSWORD,
        role=Role.LENDER,
        first_name="Bench",
        last_name="Lender",
    )
    db.session.commit()
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    return lender.email


def sign_in(server, email: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{server.port}"
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"email": email, "password": PASSWORD, "csrf_token": token}
    ).encode()
    opener.open(urllib.request.Request(base + "/login", body, method="POST"))
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def load(server, path: str, headers: dict, seconds: float, connections: int) -> dict:
    stop = time.monotonic() + seconds
    latencies, failures, lock = [], [], threading.Lock()

    def worker():
        while time.monotonic() < stop:
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            with lock:
                (latencies if response.status == 200 else failures).append(
                    (time.perf_counter() - started) * 1000
                )

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if failures:
        raise SystemExit(f"{len(failures)} non-200 answers from {path}")
    latencies.sort()
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50": round(statistics.median(latencies), 1),
        "p99": round(latencies[int(len(latencies) * 0.99)], 1),
        "n": len(latencies),
    }


if __name__ == "__main__":
    main()
