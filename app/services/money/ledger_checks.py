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
