"""The ledger's invariants, each checked from the rows themselves (`ledger.verify`)."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services.platform import activity


def verify(session: Session) -> list[str]:
    """Every money invariant, checked from the rows themselves; [] when all hold."""
    problems = []
    for query, message in _INVARIANT_QUERIES:
        for row in session.execute(text(query)):
            problems.append(message.format(*row))
    return problems


def verify_and_record(session: Session, user_id: int | None = None) -> list[str]:
    """Check every invariant and record the outcome in the activity log (the dashboard shows it)."""
    problems = verify(session)
    activity.record(
        session,
        "ledger.verified",
        user_id=user_id,
        problems=len(problems),
        details=problems[:20],
    )
    return problems


_INVARIANT_QUERIES = [
    (
        "SELECT kind, held, expected FROM ("
        " SELECT 'payouts_owed' AS kind, coalesce((SELECT -balance FROM ledger_accounts"
        "  WHERE kind = 'payouts_owed'), 0.00) AS held, (SELECT coalesce(sum(amount), 0.00)"
        "  FROM cash_transfers WHERE payout_state IN ('requested', 'sent')) AS expected"
        " UNION ALL"
        " SELECT 'payouts_in_transit', coalesce((SELECT balance FROM ledger_accounts"
        "  WHERE kind = 'payouts_in_transit'), 0.00), (SELECT coalesce(sum(amount), 0.00)"
        "  FROM cash_transfers WHERE payout_state = 'sent')) t WHERE held <> expected",
        "{} holds {} but the withdrawals on their way add up to {}",
    ),
    (
        "SELECT entry_id, sum(amount) FROM postings GROUP BY entry_id HAVING sum(amount) <> 0",
        "journal entry {} does not balance (off by {})",
    ),
    (
        "SELECT coalesce(sum(amount), 0) FROM postings HAVING coalesce(sum(amount), 0) <> 0",
        "all postings together sum to {}, not zero",
    ),
    (
        "SELECT a.code, a.balance, coalesce(sum(p.amount), 0) FROM ledger_accounts a "
        "LEFT JOIN postings p ON p.account_id = a.id GROUP BY a.id "
        "HAVING a.balance <> coalesce(sum(p.amount), 0)",
        "account {} holds {} but its postings sum to {}",
    ),
    (
        "SELECT code, -balance FROM ledger_accounts WHERE kind IN ('lender_cash', 'lender_committed') "
        "AND balance > 0",
        "lender account {} is below zero ({})",
    ),
    (
        "SELECT l.id, l.funded_amount, coalesce(sum(i.amount), 0) FROM loans l "
        "LEFT JOIN investments i ON i.loan_id = l.id AND i.status <> 'refunded' "
        "GROUP BY l.id HAVING l.funded_amount <> coalesce(sum(i.amount), 0)",
        "loan {} says {} funded but its investments sum to {}",
    ),
    (
        "SELECT l.id, l.principal_outstanding, coalesce(sum(i.principal_outstanding), 0) FROM loans l "
        "LEFT JOIN investments i ON i.loan_id = l.id WHERE l.status = 'issued' "
        "GROUP BY l.id HAVING l.principal_outstanding <> coalesce(sum(i.principal_outstanding), 0)",
        "loan {} has {} principal outstanding but its notes hold {}",
    ),
    (
        "SELECT i.id, i.principal_outstanding, -coalesce(a.balance, 0) FROM investments i "
        "LEFT JOIN ledger_accounts a ON a.investment_id = i.id AND a.kind = 'note_principal' "
        "WHERE i.principal_outstanding <> -coalesce(a.balance, 0)",
        "note {} holds {} principal but its ledger account says {}",
    ),
    (
        "SELECT l.id, l.principal_outstanding, coalesce(a.balance, 0) FROM loans l "
        "LEFT JOIN ledger_accounts a ON a.loan_id = l.id AND a.kind = 'loan_receivable' "
        "WHERE l.status = 'issued' AND l.servicing_status <> 'charged_off' "
        "AND l.principal_outstanding <> coalesce(a.balance, 0)",
        "loan {} has {} principal outstanding but its receivable is {}",
    ),
    (
        "SELECT l.id, r.balance, -c.balance FROM loans l "
        "JOIN ledger_accounts r ON r.loan_id = l.id AND r.kind = 'loan_receivable' "
        "JOIN ledger_accounts c ON c.loan_id = l.id AND c.kind = 'credit_losses' "
        "WHERE l.servicing_status = 'charged_off' AND r.balance <> -c.balance",
        "charged-off loan {} is owed {} but its noteholders' claims are {}",
    ),
    (
        "SELECT l.id, l.principal_outstanding, coalesce(sum(i.principal_due - i.principal_paid), 0) "
        "FROM loans l LEFT JOIN installments i ON i.loan_id = l.id "
        "AND i.status IN ('scheduled', 'due', 'late') "
        "WHERE l.status = 'issued' AND l.servicing_status NOT IN ('charged_off', 'paid_off') "
        "GROUP BY l.id HAVING l.principal_outstanding <> coalesce(sum(i.principal_due - i.principal_paid), 0)",
        "loan {} has {} principal outstanding but its schedule still asks for {}",
    ),
    (
        "SELECT a.owner_id, -a.balance, coalesce(sum(i.amount), 0) FROM ledger_accounts a "
        "LEFT JOIN investments i ON i.lender_id = a.owner_id AND i.status = 'committed' "
        "WHERE a.kind = 'lender_committed' GROUP BY a.id HAVING -a.balance <> coalesce(sum(i.amount), 0)",
        "lender {} has {} committed in the ledger but {} in committed notes",
    ),
]

# Notes change hands (app/services/trading): each has one owner at every moment, and each
# payment paid the owner of its moment.
_TRADING_QUERIES = [
    (
        "SELECT t.investment_id, t.id FROM (SELECT t.*, lag(buyer_id) OVER w AS before,"
        " lead(id) OVER w AS after FROM note_trades t"
        " WINDOW w AS (PARTITION BY investment_id ORDER BY traded_at)) t"
        " JOIN investments i ON i.id = t.investment_id"
        " WHERE t.before <> t.seller_id OR (t.after IS NULL AND i.lender_id <> t.buyer_id)",
        "note {} changed hands in trade {} from someone who did not own it, or its owner is "
        "not its last buyer",
    ),
    (
        "SELECT a.investment_id, a.id, a.lender_id, i.lender_id FROM payment_allocations a"
        " JOIN investments i ON i.id = a.investment_id WHERE a.lender_id <> i.lender_id"
        " AND NOT EXISTS (SELECT 1 FROM note_trades t WHERE t.investment_id = a.investment_id)",
        "note {} was never traded but allocation {} paid lender {}, not its owner {}",
    ),
    (
        "SELECT investment_id, id, lender_id, owner_id FROM (SELECT a.*, coalesce("
        " (SELECT t.buyer_id FROM note_trades t WHERE t.investment_id = a.investment_id"
        "   AND t.traded_at <= e.created_at ORDER BY t.traded_at DESC LIMIT 1),"
        " (SELECT t.seller_id FROM note_trades t WHERE t.investment_id = a.investment_id"
        "   ORDER BY t.traded_at LIMIT 1)) AS owner_id"
        " FROM payment_allocations a"
        " JOIN journal_entries e ON e.idempotency_key = 'payment:' || a.payment_id"
        " WHERE a.investment_id IN (SELECT investment_id FROM note_trades)) paid"
        " WHERE lender_id <> owner_id",
        "note {}: allocation {} paid lender {} but lender {} owned it then",
    ),
    (
        "SELECT e.id, a.owner_id, -p.amount, coalesce(sum(x.interest + x.principal + x.late_fee"
        " + x.recovery - x.servicing_fee - x.agency_fee), 0) FROM journal_entries e"
        " JOIN postings p ON p.entry_id = e.id"
        " JOIN ledger_accounts a ON a.id = p.account_id AND a.kind = 'lender_cash'"
        " LEFT JOIN payment_allocations x ON 'payment:' || x.payment_id = e.idempotency_key"
        "  AND x.lender_id = a.owner_id"
        " WHERE e.kind IN ('repayment', 'recovery')"
        " AND e.loan_id IN (SELECT i.loan_id FROM note_trades t"
        "  JOIN investments i ON i.id = t.investment_id)"
        " GROUP BY e.id, a.owner_id, p.amount HAVING -p.amount <> coalesce(sum(x.interest"
        " + x.principal + x.late_fee + x.recovery - x.servicing_fee - x.agency_fee), 0)",
        "payment entry {} paid lender {} {} but their allocations add up to {}",
    ),
    (
        "SELECT l.id, l.status, count(t.id) FROM note_listings l"
        " LEFT JOIN note_trades t ON t.listing_id = l.id GROUP BY l.id"
        " HAVING (l.status = 'sold') <> (count(t.id) = 1)",
        "listing {} is {} but has {} trades",
    ),
]

_INVARIANT_QUERIES += _TRADING_QUERIES
