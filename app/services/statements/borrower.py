"""The borrower's monthly loan statement and year-end interest statement, for every borrower
of a period at once: per loan, the balance owed (the loan's receivable at the period's bounds),
the payments received and how they were applied, fees charged, and what is due next."""

from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services.money.money import ZERO
from app.services.statements.periods import Period

MONTH_FIELDS = (
    "opening_balance",
    "lent",
    "payments",
    "principal",
    "interest",
    "fees",
    "recoveries",
    "fees_charged",
    "interest_capitalised",
    "forgiven",
    "closing_balance",
)
YEAR_FIELDS = ("payments", "principal", "interest", "fees", "recoveries")

# Each loan's receivable now, what moved it in the period (the issue, a hardship plan's
# capitalised interest, and anything else but payments: a settlement's write-off, a reversal),
# and what moved it after the period.
BALANCES = """
SELECT l.id AS loan, l.borrower_id, a.balance AS now, coalesce(m.later, 0) AS later,
       coalesce(m.moved, 0) AS moved, coalesce(m.lent, 0) AS lent,
       coalesce(m.capitalised, 0) AS capitalised, coalesce(m.forgiven, 0) AS forgiven
  FROM loans l JOIN ledger_accounts a ON a.loan_id = l.id AND a.kind = 'loan_receivable'
  LEFT JOIN (
      SELECT p.account_id,
             sum(p.amount) FILTER (WHERE e.effective_date >= :end) AS later,
             sum(p.amount) FILTER (WHERE e.effective_date < :end) AS moved,
             sum(p.amount) FILTER (WHERE e.effective_date < :end AND e.kind = 'issue') AS lent,
             sum(p.amount) FILTER (WHERE e.effective_date < :end
                                     AND e.kind = 'capitalised_interest') AS capitalised,
             -sum(p.amount) FILTER (WHERE e.effective_date < :end AND e.kind NOT IN
                 ('issue', 'capitalised_interest', 'repayment', 'recovery')) AS forgiven
        FROM postings p JOIN journal_entries e ON e.id = p.entry_id
        JOIN ledger_accounts c ON c.id = p.account_id AND c.kind = 'loan_receivable'
       WHERE e.effective_date >= :start
       GROUP BY p.account_id
  ) m ON m.account_id = a.id
"""

# The period's payments (an entry's key names its payment) and how each was applied (after a
# charge-off a payment is a recovery: its principal is the recovery).
PAYMENTS = """
SELECT py.loan_id AS loan, l.borrower_id, sum(py.amount) AS payments,
       coalesce(sum(py.principal_applied) FILTER (WHERE e.kind = 'repayment'), 0) AS principal,
       sum(py.interest_applied) AS interest, sum(py.fees_applied) AS fees,
       coalesce(sum(py.principal_applied) FILTER (WHERE e.kind = 'recovery'), 0) AS recoveries
  FROM journal_entries e
  JOIN payments py ON py.id = CAST(substr(e.idempotency_key, 9) AS int)
  JOIN loans l ON l.id = py.loan_id
 WHERE e.kind IN ('repayment', 'recovery') AND e.idempotency_key LIKE 'payment:%'
   AND e.effective_date >= :start AND e.effective_date < :end
 GROUP BY py.loan_id, l.borrower_id
"""

FEES_CHARGED = """
SELECT loan_id, sum(fee_due) FROM installments
 WHERE late_fee_assessed_on >= :start_day AND late_fee_assessed_on < :end_day
 GROUP BY loan_id
"""

# The first installment due on or after the period's end, on loans still being repaid.
NEXT_DUE = """
SELECT DISTINCT ON (i.loan_id) i.loan_id, i.due_date, i.principal_due + i.interest_due + i.fee_due
  FROM installments i JOIN loans l ON l.id = i.loan_id
 WHERE i.due_date >= :end_day AND i.status <> 'cancelled'
   AND l.servicing_status NOT IN ('paid_off', 'charged_off')
 ORDER BY i.loan_id, i.due_date
"""


def month_figures(session: Session, period: Period) -> dict[int, dict]:
    """borrower id -> {"loans": {loan id: figures}, "totals": figures} for the month."""
    days = {"start_day": period.start, "end_day": period.end}
    loans: dict[int, dict] = defaultdict(lambda: dict.fromkeys(MONTH_FIELDS, ZERO))
    owners: dict[int, int] = {}
    for row in session.execute(text(BALANCES), period.bounds):
        owners[row.loan] = row.borrower_id
        figures = loans[row.loan]
        figures["closing_balance"] = row.now - row.later
        figures["opening_balance"] = figures["closing_balance"] - row.moved
        figures["lent"] = row.lent
        figures["interest_capitalised"] = row.capitalised
        figures["forgiven"] = row.forgiven
    _payments(session, period, loans, owners, MONTH_FIELDS)
    for loan, charged in session.execute(text(FEES_CHARGED), days):
        loans[loan]["fees_charged"] += charged
    next_due = {row[0]: row[1:] for row in session.execute(text(NEXT_DUE), days)}
    shown = {loan: f for loan, f in loans.items() if any(f.values())}
    for loan, figures in shown.items():
        due_date, amount = next_due.get(loan, (None, None))
        figures["next_due_date"], figures["next_due_amount"] = due_date, amount
    return _by_borrower(shown, owners, MONTH_FIELDS)


def year_figures(session: Session, period: Period) -> dict[int, dict]:
    """borrower id -> {"loans": {loan id: figures}, "totals": figures} for the year."""
    loans: dict[int, dict] = defaultdict(lambda: dict.fromkeys(YEAR_FIELDS, ZERO))
    owners: dict[int, int] = {}
    _payments(session, period, loans, owners, YEAR_FIELDS)
    return _by_borrower(loans, owners, YEAR_FIELDS)


def _payments(session, period: Period, loans: dict, owners: dict, fields) -> None:
    for row in session.execute(text(PAYMENTS), period.bounds):
        owners[row.loan] = row.borrower_id
        for name in ("payments", "principal", "interest", "fees", "recoveries"):
            loans[row.loan][name] += getattr(row, name)


def _by_borrower(loans: dict, owners: dict, fields) -> dict[int, dict]:
    result: dict[int, dict] = defaultdict(lambda: {"loans": {}, "totals": {}})
    for loan, figures in sorted(loans.items()):
        result[owners[loan]]["loans"][loan] = figures
    for statement in result.values():
        statement["totals"] = {
            name: sum((f[name] for f in statement["loans"].values()), ZERO) for name in fields
        }
    return dict(result)


def check_month(borrower: int, figures: dict) -> None:
    """Each loan's balance moved by what was lent and capitalised, less the principal and
    recoveries paid and what was forgiven."""
    for loan, f in figures["loans"].items():
        moved = (
            f["lent"] + f["interest_capitalised"] - f["principal"] - f["recoveries"] - f["forgiven"]
        )
        if f["closing_balance"] - f["opening_balance"] != moved:
            raise ValueError(
                f"Borrower {borrower}, loan {loan}: the balance moved "
                f"${f['closing_balance'] - f['opening_balance']}, the payments say ${moved}."
            )
