"""The three statements behind `investing.invest`, compiled once.

An investment is three round trips before COMMIT. The first locks the lender's cash row (every
movement of a lender's cash locks it, so what it shows cannot change under us, and two
investments by one lender take turns). The second checks the request key and what the lender
holds in the loan and writes the note, the key, its balanced ledger entry and the audit row,
behind a savepoint. The third is the guarded UPDATE of the loan (and, for the last note, the
issuance job): the hot loan row is held for that statement and the COMMIT right after it. If
the loan cannot take the note, the second statement is rolled back to its savepoint.
"""

from sqlalchemy import text

# What a lender has in notes now: the cash committed to listings, and the principal still
# outstanding on issued notes (the suitability limit caps it). Over `investments n`.
EXPOSURE = (
    "coalesce(sum(CASE n.status WHEN 'committed' THEN n.amount "
    "WHEN 'active' THEN n.principal_outstanding ELSE 0 END), 0)"
)

# Parameters: lender, now, cash_code, committed_code.
CLAIM = text("""
WITH lender AS (
    SELECT id, role, is_active, net_worth FROM users WHERE id = :lender
), cash AS (
    SELECT id, balance FROM ledger_accounts WHERE code = :cash_code FOR UPDATE
), opened AS (  -- a lender's first investment opens their committed account
    INSERT INTO ledger_accounts (code, kind, normal_side, allow_negative, owner_id, balance,
                                 created_at)
    SELECT :committed_code, 'lender_committed', 'credit', false, id, 0, :now
      FROM lender
     WHERE role = 'lender' AND is_active
       AND NOT EXISTS (SELECT 1 FROM ledger_accounts WHERE code = :committed_code)
        ON CONFLICT (code) DO NOTHING
    RETURNING id
)
SELECT (SELECT role FROM lender) AS role, (SELECT is_active FROM lender) AS is_active,
       (SELECT net_worth FROM lender) AS net_worth,
       (SELECT id FROM cash) AS cash_id, (SELECT -balance FROM cash) AS available,
       coalesce((SELECT id FROM opened),
                (SELECT id FROM ledger_accounts WHERE code = :committed_code)) AS committed_id
""")

# Parameters: lender, loan, amount, cap, limit, now, cash_id, committed_id, key, scope, hash,
# auto_reason, ip, agent. Everything but the loan's row, behind a savepoint that a refused reservation
# rolls back to. Nothing here touches a row another lender needs: the lender's own notes and
# key (their cash lock makes their requests take turns, and this snapshot is taken after it),
# their own ledger accounts. The foreign keys to the loan are checked at COMMIT, when this
# transaction already holds the loan row: checked now, every investor would take a share lock
# on the hot row before the one who updates it.
NOTE = text(
    """
SAVEPOINT invest_note;
SET CONSTRAINTS fk_investments_loan_id_loans, fk_journal_entries_loan_id_loans DEFERRED;
WITH note AS (
    INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status,
                             auto_invested, auto_invest_reason, created_at, updated_at)
    SELECT :loan, :lender, :amount, 0, 'committed', :auto_reason IS NOT NULL, :auto_reason,
           :now, :now
     WHERE :amount + (SELECT coalesce(sum(n.amount), 0) FROM investments n
                       WHERE n.lender_id = :lender AND n.loan_id = :loan
                         AND n.status <> 'refunded') <= :cap
       AND :amount + (SELECT """
    + EXPOSURE
    + """ FROM investments n
                       WHERE n.lender_id = :lender) <= :limit
       AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.user_id = :lender AND k.key = :key)
    RETURNING id, created_at
), claim AS (
    INSERT INTO idempotency_keys (user_id, key, scope, request_hash, status, response_code,
                                  resource_type, resource_id, created_at, completed_at)
    SELECT :lender, :key, :scope, :hash, 'done', 201, 'investment', id, :now, :now FROM note
), entry AS (
    INSERT INTO journal_entries (kind, memo, effective_date, idempotency_key, loan_id, user_id,
                                 created_at)
    SELECT 'invest', 'Note #' || note.id || ' in loan #' || :loan, :now,
           'invest:' || note.id, :loan, :lender, :now
      FROM note
    RETURNING id
), legs AS (
    INSERT INTO postings (entry_id, account_id, amount)
    SELECT entry.id, leg.account_id, leg.amount FROM entry,
           (VALUES (CAST(:cash_id AS int), CAST(:amount AS numeric)),
                   (CAST(:committed_id AS int), -CAST(:amount AS numeric))) leg (account_id, amount)
), audit AS (
    INSERT INTO activity_logs (user_id, action, entity_type, entity_id, details, ip_address,
                               user_agent, created_at)
    SELECT :lender, 'loan.invested', 'investments', note.id,
           jsonb_build_object('loan_id', :loan, 'amount', CAST(:amount AS text),
                              'auto', :auto_reason),
           :ip, left(:agent, 500), :now
      FROM note
)
SELECT note.id, note.created_at FROM note
"""
)

# Parameters: loan, amount, now. The last statement before COMMIT, so the hot row is held for
# this statement and the COMMIT alone; the note that fills the loan queues its issuance.
RESERVE = text("""
WITH reserved AS (
    UPDATE loans SET funded_amount = funded_amount + :amount, updated_at = :now
     WHERE id = :loan AND status = 'listed' AND funding_deadline > :now
       AND funded_amount + :amount <= amount
    RETURNING id, funded_amount, amount
), issue AS (
    INSERT INTO outbox_messages (kind, payload, dedupe_key, status, attempts, max_attempts,
                                 progress, created_at, available_at)
    SELECT 'issue_loan', jsonb_build_object('loan_id', id), 'issue-loan-' || id, 'pending',
           0, 5, 0, :now, :now
      FROM reserved WHERE funded_amount = amount
        ON CONFLICT (dedupe_key) DO NOTHING
)
SELECT funded_amount, amount FROM reserved
""")

UNDO = text("ROLLBACK TO SAVEPOINT invest_note")

# Parameters: lender. Their declared net worth and what they have in notes (EXPOSURE).
SUITABILITY = text(
    "SELECT u.net_worth, (SELECT " + EXPOSURE + " FROM investments n WHERE n.lender_id = u.id) "
    "FROM users u WHERE u.id = :lender"
)
