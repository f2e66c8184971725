"""Cost that does not grow with the book: the main pages on a book of 10,000 loans and on one of
100,000, side by side in one process, each request timed end to end through the app (routing,
queries, templates), interleaved so that the machine's noise falls on both books alike.

    python benchmarks/pages.py [--small 10000] [--large 100000] [--requests 30]

Each book has issued loans with schedules and 4 notes each, 2% of the book listed in the
marketplace, and the same subjects: a lender holding 20,000 notes, a loan with 1,000 notes and
60 payments (allocated to every note), its borrower, and an admin. The goal: p95 on the large
book at most 1.5 × p95 on the small one, for every page. Ends with one JSON line.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from benchmarks._setup import fresh_app  # noqa: E402
from benchmarks.servicing import build_portfolio  # noqa: E402

PASSWORD = "benchmark pages phrase 27"
GOAL = 1.5
PAGES = {  # name: (who, path)
    "marketplace": ("lender", "/lender/loans"),
    "portfolio (20,000 notes)": ("lender", "/lender/portfolio"),
    "loan page (1,000 notes, 60 payments)": ("lender", "/lender/loans/1"),
    "admin loan page (same loan)": ("admin", "/admin/loans/1"),
    "admin dashboard": ("admin", "/admin/"),
    "borrower's loan page": ("borrower", "/borrower/loans/1"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    books = {}
    for loans in (args.small, args.large):
        started = time.perf_counter()
        app = fresh_app(f"communitylend_bench_pages_{loans}")
        with app.app_context():
            build_book(loans)
        books[loans] = signed_in_clients(app)
        print(f"book of {loans:,} loans built in {time.perf_counter() - started:.0f} s", flush=True)
    timings = measure(books, args.requests)
    print_table(timings, args.small, args.large)


def build_book(loans: int) -> None:
    from app.extensions import db
    from app.models import User
    from app.services.accounts import passwords

    session = db.session
    build_portfolio(session, loans, notes_per_loan=4)
    people = max(loans // 10, 10)
    secret = passwords.hash_password(PASSWORD)
    session.execute(text(SUBJECTS_SQL), {"people": people, "hash": secret, "loans": loans})
    for user_id in (2, people + 1):  # a complete profile (sealed columns: through the model)
        person = session.get(User, user_id)
        person.phone, person.date_of_birth = "+1 555 0100", date(1980, 1, 1)
        person.address_line1, person.city, person.state = "1 Main St", "Springfield", "IL"
        person.postal_code = "62701"
    session.commit()
    # As autovacuum leaves a live database: statistics, and a visibility map for index-only scans.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


# Lender people+1 holds 20,000 notes, two or three in each of the first 8,000 loans (the same
# portfolio in both books: the page is measured against the book around it); loan 1 (borrower
# 2) gets 1,000 more notes and 60 payments allocated to each of them; 2% of the loans the lender
# holds no note in are listed (40 in the small book, so its marketplace has full pages too);
# an admin signs in.
SUBJECTS_SQL = """
UPDATE users SET password_hash = :hash, identity_status = 'verified', annual_income = 90000,
    employment_status = 'employed'
 WHERE id IN (2, :people + 1);
INSERT INTO users (email, password_hash, role, first_name, last_name, country, identity_status,
    is_active, failed_login_count, created_at, updated_at)
VALUES ('admin@bench.example', :hash, 'admin', 'Bench', 'Admin', 'US', 'verified', true, 0,
    now(), now());
INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status,
    auto_invested, created_at, updated_at)
SELECT 1 + (k - 1) % least(:loans, 8000), :people + 1, 25, 20, 'active', false, now(), now()
  FROM generate_series(1, 20000) k;
INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status,
    auto_invested, created_at, updated_at)
SELECT 1, :people + 1 + k % :people, 25, 20, 'active', false, now(), now()
  FROM generate_series(1, 1000) k;
INSERT INTO payments (loan_id, payer_id, amount, received_on, status, provider,
    idempotency_key, principal_applied, interest_applied, fees_applied, created_at, updated_at)
SELECT 1, 2, 300, CURRENT_DATE - 30 * k, 'succeeded', 'simulated', 'bench-' || k, 250, 50, 0,
    now(), now()
  FROM generate_series(1, 60) k;
INSERT INTO payment_allocations (payment_id, investment_id, lender_id, principal, interest,
    late_fee, recovery, servicing_fee)
SELECT p.id, i.id, i.lender_id, 0.24, 0.05, 0, 0, 0.01
  FROM payments p JOIN investments i ON i.loan_id = p.loan_id WHERE p.loan_id = 1;
UPDATE loans SET status = 'listed', servicing_status = NULL, issued_at = NULL,
    funded_amount = 0, principal_outstanding = 0,
    listed_at = now() - make_interval(hours => id % 300),
    funding_deadline = now() + interval '10 days'
 WHERE id % 50 = 7
   AND NOT EXISTS (SELECT 1 FROM investments i WHERE i.loan_id = loans.id AND i.lender_id = :people + 1);
"""


def signed_in_clients(app) -> dict:
    from app.extensions import db
    from app.models import User

    clients = {}
    with app.app_context():
        emails = {
            "lender": db.session.scalar(text("SELECT email FROM users WHERE role = 'lender' "
                                             "ORDER BY id LIMIT 1")),
            "borrower": db.session.get(User, 2).email,
            "admin": "admin@bench.example",
        }  # fmt: skip
    for who, email in emails.items():
        client = app.test_client()
        answer = client.post("/login", data={"email": email, "password": PASSWORD})
        if answer.status_code != 303:
            raise SystemExit(f"{who} could not sign in: {answer.status_code}")
        clients[who] = client
    return clients


def measure(books: dict, requests: int) -> dict:
    timings = {(page, loans): [] for page in PAGES for loans in books}
    for round_number in range(requests + 3):
        for page, (who, path) in PAGES.items():
            for loans, clients in books.items():
                started = time.perf_counter()
                answer = clients[who].get(path)
                seconds = time.perf_counter() - started
                if answer.status_code != 200:
                    raise SystemExit(f"{page} on {loans:,}: {answer.status_code}")
                if round_number >= 3:  # the first rounds warm caches and pools
                    timings[(page, loans)].append(seconds * 1000)
    return timings


def _p(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def print_table(timings: dict, small: int, large: int) -> None:
    print(f"\n{'page':<40}{'p50 small':>11}{'p95 small':>11}{'p50 large':>11}"
          f"{'p95 large':>11}{'ratio p95':>11}")  # fmt: skip
    ratios = {}
    for page in PAGES:
        a, b = timings[(page, small)], timings[(page, large)]
        ratios[page] = _p(b, 95) / _p(a, 95)
        print(f"{page:<40}{_p(a, 50):>9.1f}ms{_p(a, 95):>9.1f}ms{_p(b, 50):>9.1f}ms"
              f"{_p(b, 95):>9.1f}ms{ratios[page]:>11.2f}")  # fmt: skip
    worst = max(ratios, key=ratios.get)
    print(f"\nworst: {worst} at {ratios[worst]:.2f} (goal ≤ {GOAL})")
    print(json.dumps({"small_loans": small, "large_loans": large, "worst_page": worst,
                      "worst_ratio": round(ratios[worst], 3), "goal": GOAL,
                      "met": ratios[worst] <= GOAL,
                      "ratios": {page: round(r, 3) for page, r in ratios.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
