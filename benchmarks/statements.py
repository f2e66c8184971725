"""Monthly statements for every lender: the job's time for `--lenders` lenders (100,000), set-based
over a month of ledger activity, against a floor measured beside it in the same run.

    python benchmarks/statements.py [--lenders 100000]

Setup, in its own database and in bulk SQL (generate_series, one INSERT per step; the ledger's
triggers still check every entry balances and move every balance): the lenders with cash and
four $100 notes each in one of `lenders / 200` issued loans, all before the month; then in the
month (the one before today) a deposit from half of them, a new commitment from each, one
payment on every loan shared out to its notes (payments, allocations, one entry each), a
withdrawal from a tenth, and after the month a deposit from a fifth (the statement must leave it
out). Then `issue.issue_month` for the month + COMMIT, timed (`seconds`, goal <= 600), and the
floor: one plain aggregate scan of the same lender-cash postings by lender and entry kind
(`floor_seconds`). Checks: one statement per lender, each lender's closing cash as the seed
made it. Then the PDFs: the issuing job queued one `draw_statement_pdfs` job per 2,000
statements; they run here one after another, as one worker would (`pdf_seconds`, `pdf_ms_each`),
and `total_seconds` = the job + every PDF drawn (goal <= 600). Ends with one JSON line.
"""

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from benchmarks._setup import fresh_app  # noqa: E402
from benchmarks.investing import vacuum  # noqa: E402

NOTES_EACH, NOTE, PRINCIPAL, INTEREST, FEE = 4, Decimal("100.00"), "2.00", "0.90", "0.03"
GOAL_SECONDS = 600


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lenders", type=int, default=100_000)
    args = parser.parse_args()
    app = fresh_app("communitylend_bench_statements")
    from app.extensions import db
    from app.services.statements import issue, periods

    period = periods.previous_month(date.today())
    with app.app_context():
        started = time.perf_counter()
        build(db.session, args.lenders, period)
        db.session.commit()
        vacuum(db.session)
        print(
            f"setup: {args.lenders:,} lenders ({time.perf_counter() - started:.1f} s)", flush=True
        )
        floor = timed(lambda: db.session.execute(text(FLOOR), period.bounds).all())
        db.session.rollback()
        started = time.perf_counter()
        made = issue.issue_month(db.session, period)
        db.session.commit()
        seconds = time.perf_counter() - started
        check(db.session, args.lenders, made)
        drawn, pdf_seconds = draw_every_pdf(db.session)
    pdf_ms = pdf_seconds / drawn * 1000
    result = {
        "lenders": args.lenders,
        "statements": made["lender"] + made["borrower"],
        "seconds": round(seconds, 2),
        "statements_per_s": round((made["lender"] + made["borrower"]) / seconds, 1),
        "floor_seconds": round(floor, 2),
        "goal_seconds": GOAL_SECONDS,
        "pdfs": drawn,
        "pdf_seconds": round(pdf_seconds, 1),
        "pdf_ms_each": round(pdf_ms, 2),
        "total_seconds": round(seconds + pdf_seconds, 1),
    }
    print(f"{'phase':<28}{'seconds':>10}")
    print(f"{'floor (aggregate scan)':<28}{floor:>10.2f}")
    print(
        f"{'issue_month + COMMIT':<28}{seconds:>10.2f}   {result['statements_per_s']:,} statements/s"
    )
    print(f"{'PDFs, every one (1 worker)':<28}{pdf_seconds:>10.1f}   {pdf_ms:.2f} ms each")
    print(f"{'total':<28}{result['total_seconds']:>10.1f}   goal {GOAL_SECONDS}")
    print(json.dumps(result))


def draw_every_pdf(session) -> tuple[int, float]:
    """Run the drawing jobs the issuing job queued, each committed as a worker would."""
    from app.services.statements import pdfs

    batches = session.scalars(
        text("SELECT payload FROM outbox_messages WHERE kind = 'draw_statement_pdfs' ORDER BY id")
    ).all()
    started, drawn = time.perf_counter(), 0
    for payload in batches:
        drawn += pdfs.draw_missing(session, payload["ids"])
        session.commit()
    return drawn, time.perf_counter() - started


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


FLOOR = """
SELECT a.owner_id, e.kind, sum(p.amount)
  FROM postings p JOIN journal_entries e ON e.id = p.entry_id
  JOIN ledger_accounts a ON a.id = p.account_id AND a.kind = 'lender_cash'
 WHERE e.effective_date >= :start
 GROUP BY 1, 2
"""


def check(session, lenders: int, made: dict) -> None:
    assert made["lender"] == lenders, made
    wrong = session.scalar(
        text(WRONG_CLOSING),
        {"note_income": 4 * (Decimal(PRINCIPAL) + Decimal(INTEREST) - Decimal(FEE))},
    )
    assert wrong == 0, f"{wrong} statements close on other cash than the seed made"


# Every lender: 5,000 in, four notes, the month's 500 (even ones), 100 committed, the payment's
# share of four notes, 100 out (every tenth); the deposit after the month is not in it.
WRONG_CLOSING = """
SELECT count(*) FROM account_statements s JOIN bench_lenders l ON l.id = s.user_id
 WHERE s.kind = 'lender_month' AND CAST(s.figures ->> 'closing_cash' AS numeric) <>
       5000 - 400 + CASE WHEN l.n % 2 = 0 THEN 500 ELSE 0 END - 100 + :note_income
       - CASE WHEN l.n % 10 = 0 THEN 100 ELSE 0 END
"""


def build(session, lenders: int, period) -> None:
    """The book described above, in bulk SQL."""
    from app.models import AccountKind
    from app.services.money import ledger

    def on(days: int) -> datetime:
        return datetime.combine(period.start + timedelta(days=days), clock(12), tzinfo=UTC)

    before = on(-10)
    platform = {
        name: ledger.account(session, kind).id
        for name, kind in (
            ("clearing", AccountKind.PROCESSOR_CLEARING),
            ("revenue", AccountKind.FEE_REVENUE),
            ("owed", AccountKind.PAYOUTS_OWED),
        )
    }
    loans = max(NOTES_EACH, lenders // 200)
    for statement in PEOPLE:
        session.execute(text(statement), {"lenders": lenders, "loans": loans, "at": before})

    def lender_entry(kind, key, at, amount, other, every=1):
        sql = LENDER_ENTRY.format(other=other)
        session.execute(text(sql), {"kind": kind, "key": key, "at": at, "amount": amount,
                                    "every": every, **platform})  # fmt: skip

    lender_entry("deposit", "dep0:", before, Decimal("-5000.00"), ":clearing")
    for statement in NOTES_ISSUED:
        session.execute(text(statement), {"at": before, "note": NOTE})
    lender_entry("deposit", "dep1:", on(2), Decimal("-500.00"), ":clearing", every=2)
    lender_entry("invest", "inv1:", on(9), NOTE, "l.committed")
    shares = {"principal": Decimal(PRINCIPAL), "interest": Decimal(INTEREST), "fee": Decimal(FEE)}
    for statement in REPAYMENTS:
        session.execute(text(statement), {"at": on(14), "day": on(14).date(), **shares, **platform})
    lender_entry("withdrawal", "wd1:", on(24), Decimal("100.00"), ":owed", every=10)
    lender_entry("deposit", "dep2:", datetime.now(UTC), Decimal("-50.00"), ":clearing", every=5)


USER = """
INSERT INTO users (email, password_hash, role, first_name, last_name, country, identity_status,
                   is_active, failed_login_count, net_worth, created_at, updated_at)
SELECT '{role}' || g || '@example.com', 'x', '{role}', 'Bench', 'Person', 'US', 'verified', true,
       0, 10000000, :at, :at
  FROM generate_series(1, :{count}) g ORDER BY g RETURNING id, email
"""
ACCOUNT = """
INSERT INTO ledger_accounts (code, kind, normal_side, allow_negative, owner_id, loan_id,
                             investment_id, balance, created_at)
SELECT {code}, '{kind}', '{side}', false, {owner}, {loan}, {note}, 0, :at FROM {source}
"""
PEOPLE = [
    "CREATE UNLOGGED TABLE bench_lenders (n int PRIMARY KEY, id int, cash int, committed int)",
    "CREATE UNLOGGED TABLE bench_loans (n int PRIMARY KEY, borrower int, loan int,"
    " receivable int, payable int)",
    "CREATE UNLOGGED TABLE bench_notes (note int PRIMARY KEY, loan int, lender int, account int)",
    "CREATE UNLOGGED TABLE bench_payments (payment int PRIMARY KEY, loan int, notes int,"
    " entry bigint)",
    f"WITH u AS ({USER.format(role='lender', count='lenders')}) INSERT INTO bench_lenders (n, id)"
    " SELECT CAST(split_part(substr(email, 7), '@', 1) AS int), id FROM u",
    f"WITH u AS ({USER.format(role='borrower', count='loans')}) INSERT INTO bench_loans"
    " (n, borrower) SELECT CAST(split_part(substr(email, 9), '@', 1) AS int), id FROM u",
    """
    WITH made AS (
        INSERT INTO loans (borrower_id, amount, requested_amount, term_months, purpose, status,
            annual_income, monthly_debt, credit_score, credit_history_months, revolving_balance,
            revolving_utilization, inquiries_6m, delinquencies_2y, public_records, risk_grade,
            interest_rate, apr, origination_fee_rate, origination_fee, monthly_payment,
            funded_amount, principal_outstanding, listed_at, funding_deadline, days_past_due,
            created_at, updated_at)
        SELECT borrower, 1000000, 1000000, 36, 'debt_consolidation', 'listed', 90000, 900, 720,
            120, 8000, 40, 1, 0, 0, 'B3', 10.99, NULL, 5, 0, NULL, 0, 0, :at,
            :at + interval '14 days', 0, :at, :at
          FROM bench_loans ORDER BY n RETURNING id, borrower_id
    )
    UPDATE bench_loans b SET loan = made.id FROM made WHERE made.borrower_id = b.borrower
    """,
    ACCOUNT.format(
        code="'lender:' || id || '\\:cash'",
        kind="lender_cash",
        side="credit",
        owner="id",
        loan="NULL",
        note="NULL",
        source="bench_lenders",
    ),
    ACCOUNT.format(
        code="'lender:' || id || '\\:committed'",
        kind="lender_committed",
        side="credit",
        owner="id",
        loan="NULL",
        note="NULL",
        source="bench_lenders",
    ),
    ACCOUNT.format(
        code="'loan:' || loan || '\\:receivable'",
        kind="loan_receivable",
        side="debit",
        owner="NULL",
        loan="loan",
        note="NULL",
        source="bench_loans",
    ),
    ACCOUNT.format(
        code="'borrower:' || borrower || '\\:payable'",
        kind="borrower_payable",
        side="credit",
        owner="borrower",
        loan="NULL",
        note="NULL",
        source="bench_loans",
    ),
    "UPDATE bench_lenders l SET cash = a.id FROM ledger_accounts a"
    " WHERE a.code = 'lender:' || l.id || '\\:cash'",
    "UPDATE bench_lenders l SET committed = a.id FROM ledger_accounts a"
    " WHERE a.code = 'lender:' || l.id || '\\:committed'",
    "UPDATE bench_loans b SET receivable = a.id FROM ledger_accounts a"
    " WHERE a.code = 'loan:' || b.loan || '\\:receivable'",
    "UPDATE bench_loans b SET payable = a.id FROM ledger_accounts a"
    " WHERE a.code = 'borrower:' || b.borrower || '\\:payable'",
]

# One entry per lender: `amount` on their cash (credit negative), its opposite on `other`.
LENDER_ENTRY = """
WITH e AS (
    INSERT INTO journal_entries (kind, memo, effective_date, idempotency_key, user_id, created_at)
    SELECT :kind, 'Benchmark', :at, 'bench:' || :key || l.n, l.id, :at
      FROM bench_lenders l WHERE l.n % :every = 0
    RETURNING id, user_id
)
INSERT INTO postings (entry_id, account_id, amount)
SELECT e.id, l.cash, :amount FROM e JOIN bench_lenders l ON l.id = e.user_id
UNION ALL
SELECT e.id, {other}, -:amount FROM e JOIN bench_lenders l ON l.id = e.user_id
"""

# Four notes a lender, in four different loans; each committed, then issued (one entry each).
NOTES_ISSUED = [
    """
    WITH i AS (
        INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status,
                                 auto_invested, created_at, updated_at)
        SELECT b.loan, l.id, :note, :note - 2, 'active', false, :at, :at
          FROM bench_lenders l CROSS JOIN generate_series(0, 3) k
          JOIN bench_loans b ON b.n = (l.n * 4 + k) % (SELECT count(*) FROM bench_loans) + 1
        RETURNING id, loan_id, lender_id
    )
    INSERT INTO bench_notes (note, loan, lender) SELECT id, loan_id, lender_id FROM i
    """,
    ACCOUNT.format(
        code="'note:' || note || '\\:principal'",
        kind="note_principal",
        side="credit",
        owner="NULL",
        loan="NULL",
        note="note",
        source="bench_notes",
    ),
    "UPDATE bench_notes n SET account = a.id FROM ledger_accounts a"
    " WHERE a.code = 'note:' || n.note || '\\:principal'",
    """
    WITH e AS (
        INSERT INTO journal_entries (kind, memo, effective_date, idempotency_key, loan_id,
                                     user_id, created_at)
        SELECT 'invest', 'Note #' || note, :at, 'invest:' || note, loan, lender, :at
          FROM bench_notes RETURNING id, idempotency_key
    )
    INSERT INTO postings (entry_id, account_id, amount)
    SELECT e.id, leg.account, leg.amount
      FROM e JOIN bench_notes n ON e.idempotency_key = 'invest:' || n.note
      JOIN bench_lenders l ON l.id = n.lender,
           LATERAL (VALUES (l.cash, :note), (l.committed, -:note)) leg (account, amount)
    """,
    """
    WITH e AS (
        INSERT INTO journal_entries (kind, memo, effective_date, idempotency_key, loan_id,
                                     created_at)
        SELECT 'issue', 'Note #' || note || ' issued', :at, 'bench:issue\\:' || note, loan, :at
          FROM bench_notes RETURNING id, idempotency_key
    )
    INSERT INTO postings (entry_id, account_id, amount)
    SELECT e.id, leg.account, leg.amount
      FROM e JOIN bench_notes n ON e.idempotency_key = 'bench:issue\\:' || n.note
      JOIN bench_lenders l ON l.id = n.lender,
           LATERAL (VALUES (l.committed, :note), (n.account, -:note)) leg (account, amount)
    """,
    """
    WITH e AS (
        INSERT INTO journal_entries (kind, memo, effective_date, idempotency_key, loan_id,
                                     created_at)
        SELECT 'issue', 'Loan issued', :at, 'bench:loan\\:' || b.n, b.loan, :at
          FROM bench_loans b RETURNING id, loan_id
    )
    INSERT INTO postings (entry_id, account_id, amount)
    SELECT e.id, leg.account, leg.amount
      FROM e JOIN bench_loans b ON b.loan = e.loan_id
      JOIN (SELECT loan, count(*) * :note AS lent FROM bench_notes GROUP BY loan) s
        ON s.loan = b.loan,
           LATERAL (VALUES (b.receivable, s.lent), (b.payable, -s.lent)) leg (account, amount)
    """,
]

# One payment on every loan, shared out to its notes: payments, allocations, one entry each.
REPAYMENTS = [
    """
    WITH p AS (
        INSERT INTO payments (loan_id, payer_id, amount, received_on, status, provider,
                              principal_applied, interest_applied, fees_applied, created_at,
                              updated_at)
        SELECT b.loan, b.borrower, s.notes * (:principal + :interest), :day, 'succeeded',
               'simulated', s.notes * :principal, s.notes * :interest, 0, :at, :at
          FROM bench_loans b JOIN (SELECT loan, count(*) AS notes FROM bench_notes GROUP BY loan) s
            ON s.loan = b.loan
        RETURNING id, loan_id
    )
    INSERT INTO bench_payments (payment, loan, notes)
    SELECT p.id, p.loan_id, (SELECT count(*) FROM bench_notes n WHERE n.loan = p.loan_id) FROM p
    """,
    """
    INSERT INTO payment_allocations (payment_id, investment_id, lender_id, principal, interest,
                                     late_fee, recovery, servicing_fee)
    SELECT p.payment, n.note, n.lender, :principal, :interest, 0, 0, :fee
      FROM bench_notes n JOIN bench_payments p ON p.loan = n.loan
    """,
    """
    WITH e AS (
        INSERT INTO journal_entries (kind, memo, effective_date, idempotency_key, loan_id,
                                     created_at)
        SELECT 'repayment', 'Payment #' || payment, :day, 'payment:' || payment, loan, :at
          FROM bench_payments RETURNING id, idempotency_key
    )
    UPDATE bench_payments p SET entry = e.id FROM e WHERE e.idempotency_key = 'payment:' || p.payment
    """,
    """
    INSERT INTO postings (entry_id, account_id, amount)
    SELECT p.entry, l.cash, -count(*) * (:principal + :interest - :fee)
      FROM bench_notes n JOIN bench_payments p ON p.loan = n.loan
      JOIN bench_lenders l ON l.id = n.lender GROUP BY p.entry, l.cash
    UNION ALL
    SELECT p.entry, n.account, :principal FROM bench_notes n JOIN bench_payments p ON p.loan = n.loan
    UNION ALL
    SELECT p.entry, :clearing, p.notes * (:principal + :interest) FROM bench_payments p
    UNION ALL
    SELECT p.entry, b.receivable, -p.notes * :principal
      FROM bench_payments p JOIN bench_loans b ON b.loan = p.loan
    UNION ALL
    SELECT p.entry, :revenue, -p.notes * :fee FROM bench_payments p
    """,
]


if __name__ == "__main__":
    main()
