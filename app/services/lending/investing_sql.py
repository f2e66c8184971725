"""The two statements behind `investing.invest`, and the set-based writes of `invest_many`.

An investment is two round trips before COMMIT. The first claims the request key and locks the
lender's cash row (every movement of a lender's cash locks it, so what it shows cannot change
under us, and two investments by one lender take turns). The second re-checks what the lender
holds in the loan, reserves the loan's remaining amount with the guarded UPDATE and writes the
note, its balanced ledger entry, the key's completion, the audit row and, for the last note,
the issuance job, all from that UPDATE's one row: the hot loan row is held from that statement
until the COMMIT right after it.
"""

# Parameters: lender, key, scope, hash, now, cash_code, committed_code.
CLAIM = """
WITH lender AS (
    SELECT id, role, is_active FROM users WHERE id = :lender
), claim AS (
    INSERT INTO idempotency_keys (user_id, key, scope, request_hash, status, created_at)
    SELECT id, :key, :scope, :hash, 'in_progress', :now FROM lender
     WHERE role = 'lender' AND is_active
        ON CONFLICT (user_id, key) DO NOTHING
    RETURNING id
), cash AS (
    SELECT id, balance FROM ledger_accounts WHERE code = :cash_code FOR UPDATE
), opened AS (  -- a lender's first investment opens their committed account
    INSERT INTO ledger_accounts (code, kind, normal_side, allow_negative, owner_id, balance,
                                 created_at)
    SELECT :committed_code, 'lender_committed', 'credit', false, :lender, 0, :now
     WHERE EXISTS (SELECT 1 FROM claim)
       AND NOT EXISTS (SELECT 1 FROM ledger_accounts WHERE code = :committed_code)
        ON CONFLICT (code) DO NOTHING
    RETURNING id
)
SELECT (SELECT role FROM lender) AS role, (SELECT is_active FROM lender) AS is_active,
       (SELECT id FROM claim) AS claim_id,
       (SELECT id FROM cash) AS cash_id, (SELECT -balance FROM cash) AS available,
       coalesce((SELECT id FROM opened),
                (SELECT id FROM ledger_accounts WHERE code = :committed_code)) AS committed_id
"""

# Parameters: lender, loan, amount, cap, now, cash_id, committed_id, claim_id, auto_reason.
# Nothing but the loan UPDATE touches a row another lender needs; every write hangs off its row.
PLACE = """
WITH reserved AS (
    UPDATE loans SET funded_amount = funded_amount + :amount, updated_at = :now
     WHERE id = :loan AND status = 'listed' AND funding_deadline > :now
       AND funded_amount + :amount <= amount
       AND :amount + (SELECT coalesce(sum(n.amount), 0) FROM investments n
                       WHERE n.lender_id = :lender AND n.loan_id = :loan
                         AND n.status <> 'refunded') <= :cap
    RETURNING id, funded_amount, amount
), note AS (
    INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status,
                             auto_invested, auto_invest_reason, created_at, updated_at)
    SELECT id, :lender, :amount, 0, 'committed', :auto_reason IS NOT NULL, :auto_reason,
           :now, :now
      FROM reserved
    RETURNING id, created_at
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
), done AS (
    UPDATE idempotency_keys k
       SET status = 'done', resource_type = 'investment', resource_id = note.id,
           response_code = 201, completed_at = :now
      FROM note WHERE k.id = :claim_id
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
"""

FORGET_CLAIM = "DELETE FROM idempotency_keys WHERE id = :claim_id"
