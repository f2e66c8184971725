"""The two statements behind `investing.invest`, compiled once.

An investment is two round trips before COMMIT. The first locks the lender's cash row (every
movement of a lender's cash locks it, so what it shows cannot change under us, and two
investments by one lender take turns). The second checks the request key and what the lender
holds in the loan, reserves the loan's remaining amount with the guarded UPDATE and writes the
note, the key, its balanced ledger entry, the audit row and, for the last note, the issuance
job, all from that UPDATE's one row: the hot loan row is held from that statement until the
COMMIT right after it.
"""

from sqlalchemy import text

# Parameters: lender, now, cash_code, committed_code.
CLAIM = text("""
WITH lender AS (
    SELECT id, role, is_active FROM users WHERE id = :lender
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
       (SELECT id FROM cash) AS cash_id, (SELECT -balance FROM cash) AS available,
       coalesce((SELECT id FROM opened),
                (SELECT id FROM ledger_accounts WHERE code = :committed_code)) AS committed_id
""")

# Parameters: lender, loan, amount, cap, now, cash_id, committed_id, key, scope, hash,
# auto_reason. Nothing but the loan UPDATE touches a row another lender needs; every write
# hangs off its row. The key is looked up in this statement's snapshot, taken after the cash
# lock: an earlier request with it by this lender has committed by then.
PLACE = text("""
WITH reserved AS (
    UPDATE loans SET funded_amount = funded_amount + :amount, updated_at = :now
     WHERE id = :loan AND status = 'listed' AND funding_deadline > :now
       AND funded_amount + :amount <= amount
       AND :amount + (SELECT coalesce(sum(n.amount), 0) FROM investments n
                       WHERE n.lender_id = :lender AND n.loan_id = :loan
                         AND n.status <> 'refunded') <= :cap
       AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.user_id = :lender AND k.key = :key)
    RETURNING id, funded_amount, amount
), note AS (
    INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status,
                             auto_invested, auto_invest_reason, created_at, updated_at)
    SELECT id, :lender, :amount, 0, 'committed', :auto_reason IS NOT NULL, :auto_reason,
           :now, :now
      FROM reserved
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
    INSERT INTO activity_logs (user_id, action, entity_type, entity_id, details, created_at)
    SELECT :lender, 'loan.invested', 'investments', note.id,
           jsonb_build_object('loan_id', :loan, 'amount', CAST(:amount AS text),
                              'auto', :auto_reason),
           :now
      FROM note
), issue AS (
    INSERT INTO outbox_messages (kind, payload, dedupe_key, status, attempts, max_attempts,
                                 progress, created_at, available_at)
    SELECT 'issue_loan', jsonb_build_object('loan_id', id), 'issue-loan-' || id, 'pending',
           0, 5, 0, :now, :now
      FROM reserved WHERE funded_amount = amount
        ON CONFLICT (dedupe_key) DO NOTHING
)
SELECT note.id, note.created_at, reserved.funded_amount, reserved.amount
  FROM note, reserved
""")
