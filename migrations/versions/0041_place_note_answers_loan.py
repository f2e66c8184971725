"""place_note answers the loan as its reservation left it (no read after COMMIT) and reads only open notes

An API investment answered with its note and the loan's grade, rate and expected return, and
read the loan back for them after COMMIT: a round trip and an ORM load of a 60-column row on
every investment (measured: about 1 ms of the 7 a request took). The guarded UPDATE that
reserves the loan already holds that row, so its RETURNING now hands back what the answer needs.

It also reads only the lender's open notes for the per-loan cap and the suitability limit. It
summed over every note the lender ever held, with their cash row locked: measured, an investment
by a lender with 5,000 paid-off notes took 2.43 ms against 1.83 ms, and with 20,000 4.71 ms
against 1.59. Paid-off and charged-off notes count for neither figure, and a listed loan's notes
are committed or refunded, so the sums now read committed and active notes off
(lender_id, status). The rules, the order of the statements and the locks are 0031's.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 13:20:00

"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

SIGNATURE = (
    "place_note(int, int, numeric, numeric, numeric, timestamptz, text, text, text, text, text, "
    "text, inet, text)"
)

UP = """
CREATE FUNCTION place_note(
    p_lender int, p_loan int, p_amount numeric, p_cap numeric, p_share numeric,
    p_now timestamptz, p_cash_code text, p_committed_code text, p_key text, p_scope text,
    p_hash text, p_auto_reason text, p_ip inet, p_agent text,
    OUT role text, OUT is_active boolean, OUT cash_id int, OUT committed_id int,
    OUT note_id int, OUT note_created_at timestamptz,
    OUT loan_status text, OUT loan_amount numeric, OUT loan_funded numeric,
    OUT loan_grade text, OUT loan_rate numeric, OUT loan_payment numeric, OUT loan_term int
) LANGUAGE plpgsql AS $$
DECLARE
    v_net_worth numeric;
    v_available numeric;
    v_entry int;
    v_held numeric;
    v_in_notes numeric;
    v_key_used boolean;
BEGIN
    SELECT u.role, u.is_active, u.net_worth INTO role, is_active, v_net_worth
      FROM users u WHERE u.id = p_lender;
    IF NOT FOUND OR role <> 'lender' OR NOT is_active THEN
        RETURN;
    END IF;
    -- Every movement of a lender's cash locks this row: their requests take turns, and each
    -- statement below reads what was committed before the lock.
    SELECT a.id, -a.balance INTO cash_id, v_available
      FROM ledger_accounts a WHERE a.code = p_cash_code FOR UPDATE;
    IF NOT FOUND OR v_available < p_amount THEN
        cash_id := NULL;
        RETURN;
    END IF;
    SELECT a.id INTO committed_id FROM ledger_accounts a WHERE a.code = p_committed_code;
    IF NOT FOUND THEN  -- a lender's first investment opens their committed account
        INSERT INTO ledger_accounts (code, kind, normal_side, allow_negative, owner_id, balance,
                                     created_at)
        VALUES (p_committed_code, 'lender_committed', 'credit', false, p_lender, 0, p_now)
            ON CONFLICT (code) DO NOTHING
        RETURNING id INTO committed_id;
        IF committed_id IS NULL THEN
            SELECT a.id INTO committed_id FROM ledger_accounts a WHERE a.code = p_committed_code;
        END IF;
    END IF;

    -- What the lender holds in this loan (the per-loan cap) and in notes at all (the
    -- suitability limit), from their own notes, and whether the key was used.
    -- Open notes only, read off (lender_id, status): paid-off and charged-off notes count for
    -- neither, and a lender's closed notes pile up for years. A listed loan's notes are
    -- committed or refunded, so its committed ones are what the lender holds in it.
    SELECT coalesce(sum(n.amount) FILTER (WHERE n.loan_id = p_loan), 0),
           coalesce(sum(CASE n.status WHEN 'committed' THEN n.amount
                                      ELSE n.principal_outstanding END), 0),
           EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.user_id = p_lender AND k.key = p_key)
      INTO v_held, v_in_notes, v_key_used
      FROM investments n WHERE n.lender_id = p_lender AND n.status IN ('committed', 'active');
    IF v_key_used OR v_held + p_amount > p_cap
       OR NOT coalesce(v_in_notes + p_amount <= trunc(v_net_worth * p_share / 100, 2), false) THEN
        RETURN;  -- (no net worth declared: no room yet)
    END IF;

    BEGIN
        -- The foreign keys to the loan are checked at COMMIT, when this transaction holds the
        -- loan row: checked now, every investor would share-lock the hot row first.
        SET CONSTRAINTS fk_investments_loan_id_loans, fk_journal_entries_loan_id_loans DEFERRED;
        INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status,
                                 auto_invested, auto_invest_reason, created_at, updated_at)
        VALUES (p_loan, p_lender, p_amount, 0, 'committed', p_auto_reason IS NOT NULL,
                p_auto_reason, p_now, p_now)
        RETURNING id, created_at INTO note_id, note_created_at;
        INSERT INTO idempotency_keys (user_id, key, scope, request_hash, status, response_code,
                                      resource_type, resource_id, created_at, completed_at)
        VALUES (p_lender, p_key, p_scope, p_hash, 'done', 201, 'investment', note_id, p_now,
                p_now);
        INSERT INTO journal_entries (kind, memo, effective_date, idempotency_key, loan_id,
                                     user_id, created_at)
        VALUES ('invest', 'Note #' || note_id || ' in loan #' || p_loan, p_now,
                'invest:' || note_id, p_loan, p_lender, p_now)
        RETURNING id INTO v_entry;
        INSERT INTO postings (entry_id, account_id, amount)
        VALUES (v_entry, cash_id, p_amount), (v_entry, committed_id, -p_amount);
        INSERT INTO activity_logs (user_id, action, entity_type, entity_id, details,
                                   ip_address, user_agent, created_at)
        VALUES (p_lender, 'loan.invested', 'investments', note_id,
                jsonb_build_object('loan_id', p_loan, 'amount', CAST(p_amount AS text),
                                   'auto', p_auto_reason),
                p_ip, left(p_agent, 500), p_now);

        -- Last, so the hot row is held for this statement and the COMMIT alone.
        UPDATE loans SET funded_amount = funded_amount + p_amount, updated_at = p_now
         WHERE id = p_loan AND status = 'listed' AND funding_deadline > p_now
           AND funded_amount + p_amount <= amount
        RETURNING status, amount, funded_amount, risk_grade, interest_rate, monthly_payment,
                  term_months
             INTO loan_status, loan_amount, loan_funded, loan_grade, loan_rate, loan_payment,
                  loan_term;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'loan % cannot take %', p_loan, p_amount USING ERRCODE = 'CL001';
        END IF;
        IF loan_funded = loan_amount THEN  -- the note that fills the loan queues its issuance
            INSERT INTO outbox_messages (kind, payload, dedupe_key, status, attempts,
                                         max_attempts, progress, created_at, available_at)
            VALUES ('issue_loan', jsonb_build_object('loan_id', p_loan),
                    'issue-loan-' || p_loan, 'pending', 0, 5, 0, p_now, p_now)
                ON CONFLICT (dedupe_key) DO NOTHING;
        END IF;
    EXCEPTION WHEN SQLSTATE 'CL001' THEN  -- everything since BEGIN is undone
        note_id := NULL;
        note_created_at := NULL;
        loan_status := NULL;
        loan_amount := NULL;
        loan_funded := NULL;
        loan_grade := NULL;
        loan_rate := NULL;
        loan_payment := NULL;
        loan_term := NULL;
    END;
END $$;
"""


def _0031():
    path = Path(__file__).with_name("0031_place_note_function.py")
    spec = importlib.util.spec_from_file_location("place_note_0031", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.UP


def upgrade():
    # New OUT columns change the result type, which CREATE OR REPLACE may not do.
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute(UP)


def downgrade():
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute(_0031())
