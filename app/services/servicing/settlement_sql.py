"""The statements behind `settlement.settle`, in the order it runs them.

Shares are computed in whole cents with integer arithmetic, so the largest-remainder ranking is
exact, as `money.split_largest_remainder` is in Decimal: a note's exact cumulative entitlement is
(loan total to date × note amount) / (sum of note amounts); its share now is the floor of that
less what it was paid, and the leftover cents go to the largest remainders, ties to the lowest
note id.
"""

CREATE_STAGE = """
CREATE TEMP TABLE settle_rows (
    row_id int PRIMARY KEY, loan_id bigint NOT NULL, amount numeric(14, 2) NOT NULL,
    idempotency_key text NOT NULL, payer_id bigint, provider text NOT NULL, provider_ref text,
    fast boolean NOT NULL DEFAULT false, installment_id bigint,
    interest numeric(14, 2), principal numeric(14, 2), payment_id bigint, entry_id bigint
);
CREATE TEMP TABLE settle_shares (
    row_id int NOT NULL, note_id bigint NOT NULL, lender_id bigint NOT NULL,
    interest numeric(14, 2) NOT NULL, principal numeric(14, 2) NOT NULL,
    fee numeric(14, 2) NOT NULL, clipped boolean NOT NULL
);
"""

# Empty fields are NULLs (no payer, no provider reference).
COPY_STAGE = """
COPY settle_rows (row_id, loan_id, amount, idempotency_key, payer_id, provider, provider_ref)
FROM STDIN WITH (FORMAT csv)
"""

# Exactly today's installment, on a current loan with nothing else due, first in the file for
# its loan and its key, with notes to pay, and a key not used before. A late fee still owed
# does not matter: the installment due takes the whole payment before any fee would.
QUALIFY = """
WITH firsts AS (
    SELECT row_id FROM (
        SELECT row_id,
               row_number() OVER (PARTITION BY loan_id ORDER BY row_id) AS for_loan,
               row_number() OVER (PARTITION BY payer_id, idempotency_key ORDER BY row_id)
                   AS for_key
          FROM settle_rows) ranked
     WHERE for_loan = 1 AND for_key = 1
)
UPDATE settle_rows r
   SET fast = true, installment_id = i.id, interest = i.interest_due, principal = i.principal_due
  FROM firsts, loans l JOIN installments i ON i.loan_id = l.id
 WHERE firsts.row_id = r.row_id AND l.id = r.loan_id
   AND l.status = 'issued' AND l.servicing_status = 'current' AND l.days_past_due = 0
   AND i.due_date = :day AND i.status IN ('scheduled', 'due')
   AND i.principal_paid = 0 AND i.interest_paid = 0 AND i.fee_due = 0
   AND i.principal_due + i.interest_due = r.amount
   AND i.principal_due < l.principal_outstanding
   AND NOT EXISTS (SELECT 1 FROM installments o WHERE o.loan_id = l.id AND o.id <> i.id
        AND o.status IN ('scheduled', 'due', 'late') AND o.due_date <= :day)
   AND EXISTS (SELECT 1 FROM investments n WHERE n.loan_id = l.id AND n.status = 'active')
   AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.idempotency_key = r.idempotency_key
        AND (p.payer_id = r.payer_id OR (r.payer_id IS NULL AND p.loan_id = r.loan_id)))
"""

# A note trade holds its loan's row FOR SHARE while the note changes hands: locking the loans
# here, before the shares read who owns each note, pays the owner at the moment of payment.
LOCK_LOANS = """
SELECT 1 FROM loans WHERE id IN (SELECT loan_id FROM settle_rows WHERE fast) ORDER BY id FOR UPDATE
"""

SHARES = """
INSERT INTO settle_shares (row_id, note_id, lender_id, interest, principal, fee, clipped)
WITH notes AS (
    SELECT r.row_id, n.id AS note_id, n.lender_id, (n.amount * 100)::bigint AS w,
           (r.interest * 100)::bigint AS amt_i, (r.principal * 100)::bigint AS amt_p
      FROM settle_rows r JOIN investments n ON n.loan_id = r.loan_id AND n.status = 'active'
     WHERE r.fast
), paid AS (
    SELECT a.investment_id, (sum(a.interest) * 100)::bigint AS i,
           (sum(a.principal) * 100)::bigint AS p
      FROM payment_allocations a
     WHERE a.investment_id IN (SELECT note_id FROM notes)
     GROUP BY a.investment_id
), totals AS (
    SELECT notes.*, coalesce(paid.i, 0) AS paid_i, coalesce(paid.p, 0) AS paid_p,
           (sum(w) OVER loan)::bigint AS wsum,
           (sum(coalesce(paid.i, 0)) OVER loan)::bigint + amt_i AS t_i,
           (sum(coalesce(paid.p, 0)) OVER loan)::bigint + amt_p AS t_p
      FROM notes LEFT JOIN paid ON paid.investment_id = notes.note_id
    WINDOW loan AS (PARTITION BY row_id)
), floors AS (
    SELECT *, CASE WHEN amt_i = 0 THEN 0 ELSE t_i * w / wsum - paid_i END AS f_i,
              t_i * w % wsum AS r_i,
              CASE WHEN amt_p = 0 THEN 0 ELSE t_p * w / wsum - paid_p END AS f_p,
              t_p * w % wsum AS r_p
      FROM totals
), ranked AS (
    SELECT *, amt_i - sum(f_i) OVER loan AS left_i,
              amt_p - sum(f_p) OVER loan AS left_p,
              row_number() OVER (PARTITION BY row_id ORDER BY r_i DESC, note_id) AS rank_i,
              row_number() OVER (PARTITION BY row_id ORDER BY r_p DESC, note_id) AS rank_p,
              min(least(f_i, f_p)) OVER loan < 0 AS clipped
      FROM floors
    WINDOW loan AS (PARTITION BY row_id)
), shares AS (
    SELECT row_id, note_id, lender_id, clipped,
           (f_i + CASE WHEN rank_i <= left_i THEN 1 ELSE 0 END) / 100.0 AS interest,
           (f_p + CASE WHEN rank_p <= left_p THEN 1 ELSE 0 END) / 100.0 AS principal
      FROM ranked
)
SELECT row_id, note_id, lender_id, interest, principal,
       round_half_even((interest + principal) * :pct / 100), clipped
  FROM shares
"""

# A note already paid past its exact share (only after tiny components) is clipped at zero
# by the one-by-one rule: those payments take that path.
DISQUALIFY_CLIPPED = """
UPDATE settle_rows SET fast = false
 WHERE row_id IN (SELECT row_id FROM settle_shares WHERE clipped);
DELETE FROM settle_shares WHERE clipped;
"""

LENDERS = "SELECT DISTINCT lender_id FROM settle_shares"

PAYMENTS = """
WITH inserted AS (
    INSERT INTO payments (loan_id, payer_id, amount, received_on, status, provider,
                          provider_ref, idempotency_key, principal_applied, interest_applied,
                          fees_applied, due_date, payment_type, created_at, updated_at)
    SELECT loan_id, payer_id, amount, :day, 'succeeded', provider,
           provider_ref, idempotency_key, principal, interest, 0, :day, 'scheduled', now(), now()
      FROM settle_rows WHERE fast ORDER BY row_id
    RETURNING id, loan_id
)
UPDATE settle_rows r SET payment_id = inserted.id
  FROM inserted WHERE r.fast AND r.loan_id = inserted.loan_id
"""

ALLOCATIONS = """
INSERT INTO payment_allocations (payment_id, investment_id, lender_id, principal, interest,
                                 late_fee, recovery, servicing_fee)
SELECT r.payment_id, s.note_id, s.lender_id, s.principal, s.interest, 0, 0, s.fee
  FROM settle_shares s JOIN settle_rows r USING (row_id)
 ORDER BY r.row_id, s.note_id
"""

NOTES = """
UPDATE investments n SET principal_outstanding = n.principal_outstanding - s.principal,
                         updated_at = now()
  FROM settle_shares s WHERE n.id = s.note_id AND s.principal <> 0
"""

INSTALLMENTS = """
UPDATE installments i SET interest_paid = i.interest_due, principal_paid = i.principal_due,
                          status = 'paid', paid_on = :day
  FROM settle_rows r WHERE r.fast AND i.id = r.installment_id
"""

LOANS = """
UPDATE loans l SET principal_outstanding = l.principal_outstanding - r.principal,
                   days_past_due = 0, servicing_status = 'current', updated_at = now(),
                   next_due_date = (SELECT min(o.due_date) FROM installments o
                                     WHERE o.loan_id = l.id
                                       AND o.status IN ('scheduled', 'due', 'late'))
  FROM settle_rows r WHERE r.fast AND l.id = r.loan_id
"""

ENTRIES = """
WITH entries AS (
    INSERT INTO journal_entries (kind, memo, effective_date, idempotency_key, loan_id, user_id,
                                 created_at)
    SELECT 'repayment', 'Payment #' || payment_id || ' on loan #' || loan_id,
           CAST(:day AS timestamp) AT TIME ZONE 'UTC', 'payment:' || payment_id, loan_id,
           payer_id, clock_timestamp()  -- after LOCK_LOANS: later than any trade it waited for
      FROM settle_rows WHERE fast ORDER BY row_id
    RETURNING id, loan_id
)
UPDATE settle_rows r SET entry_id = entries.id
  FROM entries WHERE r.fast AND r.loan_id = entries.loan_id
"""

# Each payment's legs, merged per account as ledger.post merges them; one statement, so the
# ledger's statement trigger moves every balance once.
POSTINGS = """
INSERT INTO postings (entry_id, account_id, amount)
SELECT entry_id, account_id, sum(amount) FROM (
    SELECT r.entry_id, a.id AS account_id, s.principal AS amount
      FROM settle_shares s JOIN settle_rows r USING (row_id)
      JOIN ledger_accounts a ON a.investment_id = s.note_id AND a.kind = 'note_principal'
    UNION ALL
    SELECT r.entry_id, a.id, -(s.interest + s.principal - s.fee)
      FROM settle_shares s JOIN settle_rows r USING (row_id)
      JOIN ledger_accounts a ON a.owner_id = s.lender_id AND a.kind = 'lender_cash'
    UNION ALL
    SELECT r.entry_id, :clearing,
           r.amount
      FROM settle_rows r WHERE r.fast
    UNION ALL
    SELECT r.entry_id, a.id, -r.principal
      FROM settle_rows r JOIN ledger_accounts a ON a.loan_id = r.loan_id
                                               AND a.kind = 'loan_receivable'
     WHERE r.fast
    UNION ALL
    SELECT r.entry_id, :revenue,
           -sum(s.fee)
      FROM settle_shares s JOIN settle_rows r USING (row_id) GROUP BY r.entry_id
) legs
GROUP BY entry_id, account_id HAVING sum(amount) <> 0
"""

NOTICES = """
WITH notices AS (
    INSERT INTO notifications (user_id, kind, title, body, dedupe_key, created_at,
                               link_endpoint, link_args, data)
    SELECT l.borrower_id, 'payment.received',
           'Payment of $' || to_char(r.amount, 'FM999,999,999,990.00') || ' received',
           'We applied your $' || to_char(r.amount, 'FM999,999,999,990.00')
               || ' payment to loan #' || l.id || '.',
           'payment-' || r.payment_id, now(), 'borrower.loan_show',
           jsonb_build_object('loan_id', l.id),
           jsonb_build_object('loan_id', l.id, 'payment_id', r.payment_id,
                              'amount', to_char(r.amount, 'FM999999999990.00'))
      FROM settle_rows r JOIN loans l ON l.id = r.loan_id
     WHERE r.fast ORDER BY r.row_id
    RETURNING id, user_id
)
INSERT INTO outbox_messages (kind, payload, dedupe_key, status, attempts, max_attempts, user_id,
                             progress, created_at, available_at)
SELECT 'send_email', jsonb_build_object('notification_id', id), 'email-' || id, 'pending', 0, 5,
       user_id, 0, now(), now()
  FROM notices
 WHERE :emailed
    ON CONFLICT (dedupe_key) DO NOTHING
"""

ACTIVITY = """
INSERT INTO activity_logs (user_id, action, entity_type, entity_id, details, created_at)
SELECT payer_id, 'loan.payment_applied', 'payments', payment_id,
       jsonb_build_object('loan_id', loan_id, 'amount', amount::text,
                          'principal', principal::text, 'interest', interest::text,
                          'late_fee', '0.00', 'recovery', '0.00'),
       now()
  FROM settle_rows WHERE fast ORDER BY row_id
"""

WRITES = (PAYMENTS, ALLOCATIONS, NOTES, INSTALLMENTS, LOANS, ENTRIES, POSTINGS, NOTICES, ACTIVITY)

LEFT_FOR_ONE_BY_ONE = "SELECT row_id FROM settle_rows WHERE NOT fast ORDER BY row_id"
