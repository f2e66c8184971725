"""Servicing at scale: 100,000 active loans with 1,000,000 notes; one cycle and a day of payments.

    python benchmarks/servicing.py [--loans 100000] [--notes-per-loan 10]

Builds the portfolio set-based (an opening-balance ledger entry stands for its history),
runs `servicing.run_cycle` for one business date, then settles every installment due that
day as one autopay settlement file (`settlement.settle`, set-based), beside a floor of the same
kind of payments applied one by one through `repayments.apply_payment` in the same process,
and ends with one JSON line of figures (`payments_per_s` is the settlement's).
"""

import argparse
import json
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from benchmarks._setup import fresh_app  # noqa: E402

BUSINESS_DATE = date(2026, 6, 15)
RATES = ("7.49", "10.99", "13.49", "18.25")
AMOUNT_STEPS = 60  # loan amounts 2,500 … 17,250 in steps of 250


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--notes-per-loan", type=int, default=10)
    parser.add_argument("--floor", type=int, default=300, help="payments applied one by one")
    args = parser.parse_args()
    app = fresh_app("communitylend_bench_servicing")
    from app.extensions import db
    from app.services.money import ledger
    from app.services.servicing import repayments, servicing, settlement
    from app.services.servicing.settlement import SettlementRow

    with app.app_context():
        started = time.perf_counter()
        build_portfolio(db.session, args.loans, args.notes_per_loan)
        build_s = time.perf_counter() - started
        servicing.run_cycle(db.session, BUSINESS_DATE - timedelta(days=1))  # settle statuses
        db.session.commit()
        with db.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql("VACUUM ANALYZE")
            autocommit.exec_driver_sql("CHECKPOINT")  # the build's writes, not the day's
        started = time.perf_counter()
        stats = servicing.run_cycle(db.session, BUSINESS_DATE)
        db.session.commit()
        cycle_s = time.perf_counter() - started
        due = db.session.execute(
            text(
                "SELECT i.loan_id, i.principal_due + i.interest_due FROM installments i "
                "JOIN loans l ON l.id = i.loan_id WHERE i.due_date = :day AND i.status = 'due' "
                "AND l.servicing_status = 'current' ORDER BY i.loan_id"
            ),
            {"day": BUSINESS_DATE},
        ).all()
        floor, rest = due[: args.floor], due[args.floor :]
        started = time.perf_counter()
        for loan_id, amount in floor:  # the one-by-one path, for comparison
            repayments.apply_payment(
                db.session,
                loan_id,
                amount,
                received_on=BUSINESS_DATE,
                idempotency_key=f"bench-{loan_id}",
            )
            db.session.commit()
        floor_s = time.perf_counter() - started
        rows = [SettlementRow(loan_id, amount, f"bench-{loan_id}") for loan_id, amount in rest]
        started = time.perf_counter()
        result = settlement.settle(db.session, rows, BUSINESS_DATE)
        db.session.commit()
        payments_s = time.perf_counter() - started
        started = time.perf_counter()
        problems = ledger.verify(db.session)
        verify_s = time.perf_counter() - started
    figures = {
        "loans": args.loans,
        "notes": args.loans * args.notes_per_loan,
        "build_s": round(build_s, 1),
        "cycle_s": round(cycle_s, 3),
        "loans_per_s": round(args.loans / cycle_s),
        "cycle_stats": stats,
        "payments": len(rest),
        "payments_together": result.together,
        "payments_refused": len(result.refused),
        "payments_s": round(payments_s, 2),
        "payments_per_s": round(len(rest) / payments_s, 1) if rest else None,
        "one_by_one_payments": len(floor),
        "one_by_one_per_s": round(len(floor) / floor_s, 1) if floor else None,
        "verify_s": round(verify_s, 2),
        "ledger_problems": len(problems),
    }
    print(
        f"cycle: {cycle_s:.3f} s for {args.loans:,} loans ({figures['loans_per_s']:,} loans/s); "
        f"settlement: {len(rest):,} payments in {payments_s:.2f} s "
        f"({figures['payments_per_s']:,}/s; one by one {figures['one_by_one_per_s']}/s); "
        f"verify: {verify_s:.1f} s, "
        f"{len(problems)} problems"
    )
    print(json.dumps(figures, default=str))


def build_portfolio(session, loans: int, notes_per_loan: int) -> None:
    """Borrowers, lenders (each with the cash account that funded their notes), issued loans
    with schedules paid to date, notes and ledger balances."""
    from app.services.servicing import amortization

    people = max(loans // 10, 10)
    session.execute(
        text(
            "INSERT INTO users (email, password_hash, role, first_name, last_name, country, "
            "identity_status, is_active, failed_login_count, created_at, updated_at) "
            "SELECT 'bench' || g || '@example.com', 'x', CASE WHEN g <= :people THEN 'borrower' "
            "ELSE 'lender' END, 'Bench', 'Person', 'US', 'verified', true, 0, now(), now() "
            "FROM generate_series(1, :people * 2) g"
        ),
        {"people": people},
    )
    session.execute(
        text(
            "CREATE TEMP TABLE tpl (amount numeric, rate numeric, number int, "
            "principal numeric, interest numeric)"
        )
    )
    rows = []
    for step in range(AMOUNT_STEPS):
        amount = Decimal(2500 + 250 * step)
        for rate in RATES:
            for plan in amortization.schedule(amount, Decimal(rate), 36, date(2026, 1, 1)):
                rows.append(
                    {
                        "a": amount,
                        "r": Decimal(rate),
                        "n": plan.number,
                        "p": plan.principal,
                        "i": plan.interest,
                    }
                )
    session.execute(text("INSERT INTO tpl VALUES (:a, :r, :n, :p, :i)"), rows)
    session.execute(
        text(LOANS_SQL),
        {
            "loans": loans,
            "people": people,
            "day": BUSINESS_DATE,
            "steps": AMOUNT_STEPS,
            "rates": list(RATES),
        },
    )
    session.execute(text(INSTALLMENTS_SQL), {"day": BUSINESS_DATE})
    session.execute(text(OUTSTANDING_SQL))
    session.execute(text(NOTES_SQL), {"notes": notes_per_loan, "people": people})
    session.execute(text("SET session_replication_role = replica"))  # history, not new postings
    session.connection().exec_driver_sql(LEDGER_SQL)  # literal colons in account codes
    session.execute(text("SET session_replication_role = DEFAULT"))
    session.commit()


LOANS_SQL = """
INSERT INTO loans (borrower_id, amount, requested_amount, term_months, purpose, status,
    servicing_status, annual_income, monthly_debt, credit_score, credit_history_months,
    revolving_balance, revolving_utilization, inquiries_6m, delinquencies_2y, public_records,
    risk_grade, interest_rate, apr, origination_fee_rate, origination_fee, monthly_payment,
    funded_amount, principal_outstanding, listed_at, funding_deadline, issued_at,
    first_due_date, next_due_date, days_past_due, created_at, updated_at)
SELECT 1 + g % :people, 2500 + 250 * (g % :steps), 2500 + 250 * (g % :steps), 36,
    'debt_consolidation', 'issued', 'current', 60000, 800, 700, 120, 5000, 30, 1, 0, 0, 'B3',
    (:rates)[1 + g % 4]::numeric, NULL, 3, 0, NULL, 2500 + 250 * (g % :steps), 0,
    now(), now(), (CAST(:day AS date) - (1 + g % 365))::timestamptz,
    (CAST(:day AS date) - (1 + g % 365)) + interval '1 month', NULL, 0, now(), now()
FROM generate_series(1, :loans) g
"""

# Installments due before the business date are paid, except for the 8% of loans that
# stopped paying some weeks ago (their late fees so far already assessed).
INSTALLMENTS_SQL = """
INSERT INTO installments (loan_id, number, due_date, accrual_start, principal_due, interest_due,
    fee_due, principal_paid, interest_paid, fee_paid, status, late_fee_assessed_on, paid_on)
SELECT l.id, t.number, d.due, d.start, t.principal, t.interest,
    CASE WHEN s.unpaid AND d.due <= CAST(:day AS date) - 17 THEN 15 ELSE 0 END,
    CASE WHEN d.due < :day AND NOT s.unpaid THEN t.principal ELSE 0 END,
    CASE WHEN d.due < :day AND NOT s.unpaid THEN t.interest ELSE 0 END, 0,
    CASE WHEN d.due >= :day THEN 'scheduled' WHEN NOT s.unpaid THEN 'paid'
         WHEN d.due <= CAST(:day AS date) - 17 THEN 'late' ELSE 'due' END,
    CASE WHEN s.unpaid AND d.due <= CAST(:day AS date) - 17 THEN d.due + 16 END,
    CASE WHEN d.due < :day AND NOT s.unpaid THEN d.due END
FROM loans l
JOIN tpl t ON t.amount = l.amount AND t.rate = l.interest_rate
CROSS JOIN LATERAL (SELECT (l.issued_at::date + make_interval(months => t.number))::date AS due,
    (l.issued_at::date + make_interval(months => t.number - 1))::date AS start) d
CROSS JOIN LATERAL (SELECT l.id % 100 < 8
        AND d.due < :day AND d.due >= CAST(:day AS date) - (7 * l.id) % 170 AS unpaid) s
"""

OUTSTANDING_SQL = """
UPDATE loans l SET principal_outstanding = o.left, next_due_date = o.next_due
FROM (SELECT loan_id, sum(principal_due - principal_paid) AS left,
             min(due_date) FILTER (WHERE status <> 'paid') AS next_due
        FROM installments GROUP BY loan_id) o
WHERE o.loan_id = l.id;
UPDATE loans SET monthly_payment = (SELECT principal_due + interest_due FROM installments
    WHERE loan_id = loans.id AND number = 1)
"""

NOTES_SQL = """
INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status,
    auto_invested, created_at, updated_at)
SELECT l.id, :people + 1 + (l.id * :notes + k) % :people, l.amount / :notes,
    trunc(l.principal_outstanding / :notes, 2)
      + CASE WHEN k = 0 THEN l.principal_outstanding - :notes * trunc(l.principal_outstanding / :notes, 2)
        ELSE 0 END,
    'active', false, now(), now()
FROM loans l CROSS JOIN generate_series(0, :notes - 1) k
"""

LEDGER_SQL = """
INSERT INTO journal_entries (id, kind, memo, effective_date, created_at)
VALUES (1, 'opening_balances', 'Benchmark portfolio history', now(), now());
INSERT INTO ledger_accounts (code, kind, normal_side, allow_negative, loan_id, balance, created_at)
SELECT 'loan:' || id || ':receivable', 'loan_receivable', 'debit', false, id,
       principal_outstanding, now() FROM loans;
INSERT INTO ledger_accounts (code, kind, normal_side, allow_negative, investment_id, balance, created_at)
SELECT 'note:' || id || ':principal', 'note_principal', 'credit', false, id,
       -principal_outstanding, now() FROM investments;
INSERT INTO ledger_accounts (code, kind, normal_side, allow_negative, owner_id, balance, created_at)
SELECT 'lender:' || id || ':cash', 'lender_cash', 'credit', false, id, 0, now()
  FROM users WHERE role = 'lender';
INSERT INTO postings (entry_id, account_id, amount)
SELECT 1, id, balance FROM ledger_accounts WHERE balance <> 0;
SELECT setval(pg_get_serial_sequence('journal_entries', 'id'), 1);
"""


if __name__ == "__main__":
    main()
