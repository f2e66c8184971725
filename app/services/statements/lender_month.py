"""The lender's monthly account statement, for every lender of a month at once.

Cash lines come from the lender-cash postings of the month's entries grouped by entry kind;
repayments are split by their allocations and trades by their trade rows, and the whole must
add up: closing - opening = the signed sum of the lines (`check`), or nothing is stored.
"""

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services.money.money import ZERO
from app.services.statements.periods import Period

# line -> sign in the identity closing - opening = sum(sign * line)
LINES = {
    "deposits": 1,
    "withdrawals": -1,
    "withdrawals_returned": 1,
    "invested": -1,
    "refunds": 1,
    "principal": 1,
    "interest": 1,
    "late_fees": 1,
    "recoveries": 1,
    "servicing_fees": -1,
    "agency_fees": -1,  # a collection agency's share of recoveries (docs: Collections)
    "notes_sold": 1,
    "trading_fees": -1,
    "notes_bought": -1,
    "other": 1,
}
# entry kind -> the line its lender-cash postings are (signed as the lender sees them)
BY_KIND = {
    "deposit": "deposits",
    "withdrawal": "withdrawals",
    "withdrawal_failed": "withdrawals_returned",
    "invest": "invested",
    "listing_refund": "refunds",
}
SPLIT_KINDS = ("repayment", "recovery", "note_trade")  # split by allocations and trades

# Every lender-cash account, its balance now, and what moved on it from the period's start by
# entry kind ('later': after the period), credits positive (what the lender gained).
CASH = """
SELECT a.owner_id AS lender, -a.balance AS now, m.bucket, coalesce(m.amount, 0) AS amount
  FROM ledger_accounts a
  LEFT JOIN (
      SELECT p.account_id,
             CASE WHEN e.effective_date >= :end THEN 'later' ELSE e.kind END AS bucket,
             -sum(p.amount) AS amount
        FROM postings p JOIN journal_entries e ON e.id = p.entry_id
        JOIN ledger_accounts c ON c.id = p.account_id AND c.kind = 'lender_cash'
       WHERE e.effective_date >= :start
       GROUP BY 1, 2
  ) m ON m.account_id = a.id
 WHERE a.kind = 'lender_cash'
"""

# The period's payments as each noteholder received them (an entry's key names its payment).
ALLOCATIONS = """
SELECT pa.lender_id AS lender, sum(pa.principal) AS principal, sum(pa.interest) AS interest,
       sum(pa.late_fee) AS late_fees, sum(pa.recovery) AS recoveries,
       sum(pa.servicing_fee) AS servicing_fees, sum(pa.agency_fee) AS agency_fees
  FROM journal_entries e
  JOIN payment_allocations pa ON pa.payment_id = CAST(substr(e.idempotency_key, 9) AS int)
 WHERE e.kind IN ('repayment', 'recovery') AND e.idempotency_key LIKE 'payment:%'
   AND e.effective_date >= :start AND e.effective_date < :end
 GROUP BY pa.lender_id
"""

TRADES = """
SELECT t.seller_id, t.buyer_id, t.price, t.fee, t.accrued_interest, t.realised_gain,
       t.trade_date, t.seller_held_since
  FROM note_trades t JOIN journal_entries e ON e.id = t.journal_entry_id
 WHERE e.effective_date >= :start AND e.effective_date < :end
"""

# Who owned each note at :end: the buyer of its last trade before then, else the seller of its
# first trade, else its lender (notes change hands only by trades).
OWNERS = """
WITH last_buy AS (
    SELECT DISTINCT ON (t.investment_id) t.investment_id, t.buyer_id
      FROM note_trades t JOIN journal_entries e ON e.id = t.journal_entry_id
     WHERE e.effective_date < :end
     ORDER BY t.investment_id, e.effective_date DESC, t.id DESC
), first_sale AS (
    SELECT DISTINCT ON (investment_id) investment_id, seller_id
      FROM note_trades ORDER BY investment_id, id
), owners AS (
    SELECT i.id AS note, coalesce(b.buyer_id, s.seller_id, i.lender_id) AS lender
      FROM investments i
      LEFT JOIN last_buy b ON b.investment_id = i.id
      LEFT JOIN first_sale s ON s.investment_id = i.id
)
"""

# Note principal owned at :end (balance now less what moved after), and principal charged off
# in the period, by owner at :end (a charged-off note is not traded after its charge-off).
NOTES = (
    OWNERS
    + """
, moves AS (
    SELECT p.account_id,
           sum(p.amount) FILTER (WHERE e.effective_date >= :end) AS later,
           sum(p.amount) FILTER (WHERE e.kind = 'charge_off' AND e.effective_date < :end)
               AS charged_off
      FROM postings p JOIN journal_entries e ON e.id = p.entry_id
      JOIN ledger_accounts c ON c.id = p.account_id AND c.kind = 'note_principal'
     WHERE e.effective_date >= :start
     GROUP BY p.account_id
)
SELECT o.lender, sum(-(a.balance - coalesce(m.later, 0))) AS notes_at_close,
       coalesce(sum(m.charged_off), 0) AS charge_offs
  FROM ledger_accounts a JOIN owners o ON o.note = a.investment_id
  LEFT JOIN moves m ON m.account_id = a.id
 WHERE a.kind = 'note_principal'
 GROUP BY o.lender
"""
)


class Unreconciled(Exception):
    """A statement whose lines do not add up to its change in cash: never stored."""


def figures(session: Session, period: Period) -> dict[int, dict[str, Decimal]]:
    """Every lender's statement figures for `period` (lenders with nothing to show left out)."""
    bounds = period.bounds
    rows: dict[int, dict[str, Decimal]] = defaultdict(_blank)
    _cash(session, bounds, rows)
    for lender, *parts in session.execute(text(ALLOCATIONS), bounds):
        row = rows[lender]
        for name, amount in zip(
            ("principal", "interest", "late_fees", "recoveries", "servicing_fees", "agency_fees"),
            parts,
            strict=True,
        ):
            row[name] += amount
        row["split_kinds"] -= sum(parts[:4], ZERO) - parts[4] - parts[5]
    for trade in session.execute(text(TRADES), bounds):
        rows[trade.seller_id]["notes_sold"] += trade.price
        rows[trade.seller_id]["trading_fees"] += trade.fee
        rows[trade.seller_id]["split_kinds"] -= trade.price - trade.fee
        rows[trade.buyer_id]["notes_bought"] += trade.price
        rows[trade.buyer_id]["split_kinds"] += trade.price
    for lender, at_close, charged in session.execute(text(NOTES), bounds):
        rows[lender]["notes_at_close"] += at_close
        rows[lender]["charge_offs"] += charged
    done = {lender: _finished(lender, row) for lender, row in rows.items()}
    return {lender: result for lender, result in done.items() if any(result.values())}


def _cash(session: Session, bounds: dict, rows: dict) -> None:
    for lender, now, bucket, amount in session.execute(text(CASH), bounds):
        row = rows[lender]
        row["closing_cash"] = now  # less what came later, below
        if bucket is None:
            continue
        if bucket == "later":
            row["later"] += amount
        elif bucket in SPLIT_KINDS:
            row["split_kinds"] += amount
        elif bucket in BY_KIND:
            row[BY_KIND[bucket]] += LINES[BY_KIND[bucket]] * amount
        else:
            row["other"] += amount
        row["moved"] += amount if bucket != "later" else ZERO


def _blank() -> dict[str, Decimal]:
    names = [
        *LINES,
        "closing_cash",
        "later",
        "moved",
        "split_kinds",
        "notes_at_close",
        "charge_offs",
    ]
    return dict.fromkeys(names, ZERO)


def _finished(lender: int, row: dict[str, Decimal]) -> dict[str, Decimal]:
    """The statement's figures, once they reconcile (Unreconciled if they do not)."""
    closing = row["closing_cash"] - row["later"]
    opening = closing - row["moved"]
    if row["split_kinds"]:
        raise Unreconciled(
            f"Lender {lender}: repayments and trades moved their cash ${row['split_kinds']} "
            "away from what their allocations and trades say."
        )
    result = {"opening_cash": opening, **{name: row[name] for name in LINES}}
    result |= {"closing_cash": closing, "charge_offs": row["charge_offs"]}
    result["notes_at_close"] = row["notes_at_close"]
    check(lender, result)
    return result


def check(lender: int, result: dict[str, Decimal]) -> None:
    """closing - opening = sum(sign * line), to the cent."""
    lines = sum((sign * result[name] for name, sign in LINES.items()), ZERO)
    if result["closing_cash"] - result["opening_cash"] != lines:
        raise Unreconciled(
            f"Lender {lender}: cash moved ${result['closing_cash'] - result['opening_cash']}, "
            f"its lines say ${lines}."
        )
