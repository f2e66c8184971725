"""A note purchase is one call: buy_note locks, checks and writes the whole trade

`trades.buy` read the listing, the note and the loan, priced the note and then sent some
twenty statements, each with the ORM's work in Python around it: on two cores, sixteen buyers
were bound by that work, not by the database. Now Python prices the note (pricing.py) from a
plain read and this function does the rest under the locks, in the order the trade always took
them: the listing FOR UPDATE (racing buyers, a withdrawing seller), the loan FOR SHARE (a
payment holds it FOR UPDATE), the note FOR UPDATE, the buyer's cash FOR UPDATE (a buyer's own
purchases, and their request keys, take turns). It checks that nothing the price was made from
moved (the note's principal, the loan's last update, its state), then the buyer's cash,
per-loan cap and suitability limit; it writes nothing until every check has passed, and the
ledger entry, whose accounts are the hottest rows, last. The answer's `code` says what
happened; Python turns a refusal into its message.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 07:20:00

"""
from alembic import op

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

UP = """
CREATE FUNCTION buy_note(
    p_buyer int, p_listing int, p_key text, p_scope text, p_hash text, p_status text,
    p_loan_version timestamptz, p_principal numeric, p_accrued numeric, p_markup numeric,
    p_premium numeric, p_price numeric, p_fee numeric, p_cap numeric, p_share numeric,
    p_today date, p_now timestamptz, p_buyer_cash int, p_seller_cash int, p_revenue int,
    p_strategy int, p_reason text, p_ip inet, p_agent text, p_emailed boolean,
    p_title text, p_body text,
    OUT code text, OUT trade_id bigint, OUT entry_id bigint, OUT detail text,
    OUT seller_id int, OUT note_id int, OUT loan_id int, OUT cost_premium numeric,
    OUT held_since timestamptz
) LANGUAGE plpgsql AS $$
DECLARE
    v_listing note_listings%ROWTYPE;
    v_note investments%ROWTYPE;
    v_loan loans%ROWTYPE;
    v_role text;
    v_active boolean;
    v_net_worth numeric;
    v_available numeric;
    v_held numeric;
    v_in_notes numeric;
    v_order text[] := ARRAY['current', 'grace', 'late_16_30', 'late_31_120', 'default',
                            'charged_off'];
    v_notice bigint;
BEGIN
    SELECT * INTO v_listing FROM note_listings WHERE id = p_listing FOR UPDATE;
    IF NOT FOUND THEN
        code := 'missing'; RETURN;
    END IF;
    seller_id := v_listing.seller_id;
    note_id := v_listing.investment_id;
    IF v_listing.status <> 'listed' THEN
        code := 'gone';
        detail := CASE v_listing.status WHEN 'sold' THEN 'sold'
                  WHEN 'cancelled' THEN 'withdrawn by the seller'
                  ELSE coalesce(v_listing.end_reason, 'ended') END;
        RETURN;
    END IF;
    IF v_listing.seller_id = p_buyer THEN
        code := 'own'; RETURN;
    END IF;
    SELECT n.* INTO v_note FROM investments n WHERE n.id = v_listing.investment_id;
    SELECT * INTO v_loan FROM loans WHERE id = v_note.loan_id FOR SHARE;
    SELECT * INTO v_note FROM investments WHERE id = v_listing.investment_id FOR UPDATE;
    loan_id := v_loan.id;
    IF v_note.status <> 'active' OR v_note.lender_id <> v_listing.seller_id
       OR NOT v_loan.servicing_status = ANY(v_order[1:4])
       OR array_position(v_order, v_loan.servicing_status)
          > array_position(v_order, v_listing.listed_loan_status) THEN
        code := 'ended'; detail := v_loan.servicing_status; RETURN;
    END IF;
    IF v_loan.servicing_status <> p_status THEN
        code := 'state'; detail := v_loan.servicing_status; RETURN;
    END IF;
    IF v_note.principal_outstanding <> p_principal OR v_loan.updated_at <> p_loan_version THEN
        code := 'price'; RETURN;  -- a payment moved what the price was made from
    END IF;

    SELECT u.role, u.is_active, u.net_worth INTO v_role, v_active, v_net_worth
      FROM users u WHERE u.id = p_buyer;
    IF NOT FOUND OR v_role <> 'lender' OR NOT v_active THEN
        code := 'inactive'; detail := v_role; RETURN;
    END IF;
    SELECT -a.balance INTO v_available FROM ledger_accounts a WHERE a.id = p_buyer_cash FOR UPDATE;
    IF EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.user_id = p_buyer AND k.key = p_key) THEN
        code := 'key_used'; RETURN;  -- an earlier request with this key: Python replays it
    END IF;
    IF v_available < p_price THEN
        code := 'cash'; detail := CAST(v_available AS text); RETURN;
    END IF;
    SELECT coalesce(sum(n.amount) FILTER (WHERE n.loan_id = v_loan.id AND n.status <> 'refunded'),
                    0),
           coalesce(sum(CASE n.status WHEN 'committed' THEN n.amount
                                      WHEN 'active' THEN n.principal_outstanding
                                      ELSE 0 END), 0)
      INTO v_held, v_in_notes
      FROM investments n WHERE n.lender_id = p_buyer;
    IF v_held + v_note.amount > p_cap THEN
        code := 'cap'; detail := CAST(v_held AS text); RETURN;
    END IF;
    IF v_net_worth IS NULL OR v_in_notes + p_price > trunc(v_net_worth * p_share / 100, 2) THEN
        code := 'suitability'; RETURN;
    END IF;

    -- Every check has passed: the writes. What the seller paid over principal and accrued
    -- interest when they bought the note, and since when they hold it.
    SELECT t.premium, t.traded_at INTO cost_premium, held_since
      FROM note_trades t WHERE t.investment_id = v_note.id AND t.buyer_id = v_listing.seller_id
     ORDER BY t.traded_at DESC LIMIT 1;
    IF NOT FOUND THEN
        cost_premium := 0; held_since := v_note.created_at;
    END IF;
    trade_id := nextval('note_trades_id_seq');
    entry_id := nextval('journal_entries_id_seq');
    UPDATE investments SET lender_id = p_buyer, updated_at = p_now WHERE id = v_note.id;
    UPDATE note_listings SET status = 'sold', ended_at = p_now, updated_at = p_now
     WHERE id = p_listing;
    SET CONSTRAINTS fk_note_trades_journal_entry_id_journal_entries DEFERRED;
    INSERT INTO note_trades (id, listing_id, investment_id, seller_id, buyer_id, trade_date,
                             principal, accrued_interest, markup_percent, premium, price, fee,
                             seller_cost_premium, realised_gain, seller_held_since, traded_at,
                             journal_entry_id, strategy_id, buy_reason)
    VALUES (trade_id, p_listing, v_note.id, v_listing.seller_id, p_buyer, p_today, p_principal,
            p_accrued, p_markup, p_premium, p_price, p_fee, cost_premium,
            p_premium - p_fee - cost_premium, held_since, p_now, entry_id, p_strategy, p_reason);
    INSERT INTO idempotency_keys (user_id, key, scope, request_hash, status, response_code,
                                  resource_type, resource_id, created_at, completed_at)
    VALUES (p_buyer, p_key, p_scope, p_hash, 'done', 201, 'note_trade', trade_id, p_now, p_now);
    INSERT INTO activity_logs (user_id, action, entity_type, entity_id, details, ip_address,
                               user_agent, created_at)
    VALUES (p_buyer, 'note.traded', 'note_trades', trade_id,
            jsonb_build_object('note_id', v_note.id, 'seller_id', v_listing.seller_id,
                               'price', CAST(p_price AS text)),
            p_ip, left(p_agent, 500), p_now);
    INSERT INTO notifications (user_id, kind, title, body, link_endpoint, link_args, data,
                               dedupe_key, created_at)
    VALUES (v_listing.seller_id, 'note_sold', p_title, p_body, 'lender.trades_index',
            '{}'::jsonb, jsonb_build_object('price', CAST(p_price AS text),
                                            'fee', CAST(p_fee AS text)),
            'note_sold:' || trade_id, p_now)
    RETURNING id INTO v_notice;
    IF p_emailed THEN
        INSERT INTO outbox_messages (kind, payload, dedupe_key, status, attempts, max_attempts,
                                     user_id, progress, created_at, available_at)
        VALUES ('send_email', jsonb_build_object('notification_id', v_notice),
                'email-' || v_notice, 'pending', 0, 5, v_listing.seller_id, 0, p_now, p_now);
    END IF;

    -- Last, so the hottest rows (the platform's fee revenue, the seller's cash) are held for
    -- this statement and the COMMIT alone.
    INSERT INTO journal_entries (id, kind, memo, effective_date, idempotency_key, loan_id,
                                 user_id, details, created_at)
    VALUES (entry_id, 'note_trade',
            'Note #' || v_note.id || ' of loan #' || v_loan.id || ' sold by lender '
                || v_listing.seller_id || ' to lender ' || p_buyer,
            p_now, 'note_trade:' || p_listing, v_loan.id, p_buyer,
            jsonb_build_object('listing_id', p_listing, 'note_id', v_note.id), p_now);
    INSERT INTO postings (entry_id, account_id, amount)
    SELECT entry_id, leg.account_id, leg.amount
      FROM (VALUES (p_buyer_cash, p_price), (p_seller_cash, -(p_price - p_fee)),
                   (p_revenue, -p_fee)) AS leg (account_id, amount)
     WHERE leg.amount <> 0;  -- a fee that rounds to nothing has no leg
    code := 'done';
END $$;
"""

DOWN = """
DROP FUNCTION buy_note(int, int, text, text, text, text, timestamptz, numeric, numeric,
                       numeric, numeric, numeric, numeric, numeric, numeric, date, timestamptz,
                       int, int, int, int, text, inet, text, boolean, text, text);
"""


def upgrade():
    op.execute(UP)


def downgrade():
    op.execute(DOWN)
