"""A note is priced inside the purchase: note_quote in SQL, and buy_note calls it

With the price made in Python from an unlocked read, each purchase cost two reads, a call and
Python's pricing: on two cores, about 4 ms of Python per trade, a ceiling of some 250 trades a
second whatever the database could do. Now buy_note prices the note itself, under its locks,
with `note_quote`, the same rules as `trading/pricing.py` step for step (30/360 days US, the
running installment's interest to the day, half-even cents at the same points), and compares
the price with the one the buyer was shown: one round trip per purchase. A test holds the two
implementations to the cent over many schedules and days.

Trading fees are credited to eight fee-revenue sub-accounts (`platform:fee_revenue:trading:N`,
chosen by trade id): with one account, every purchase on the platform queued for its row from
the postings to the COMMIT. Revenue is the sum over the kind (`ledger.kind_balance`).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 07:30:00

"""
from alembic import op

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

UP = """
CREATE FUNCTION days_30_360(p_start date, p_end date) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d1 int := extract(day FROM p_start);
    d2 int := extract(day FROM p_end);
    start_feb_end boolean := extract(month FROM p_start) = 2 AND extract(day FROM p_start + 1) = 1;
    end_feb_end boolean := extract(month FROM p_end) = 2 AND extract(day FROM p_end + 1) = 1;
BEGIN
    IF start_feb_end THEN
        IF end_feb_end THEN d2 := 30; END IF;
        d1 := 30;
    END IF;
    IF d2 = 31 AND d1 >= 30 THEN d2 := 30; END IF;
    d1 := least(d1, 30);
    RETURN (extract(year FROM p_end) - extract(year FROM p_start)) * 360
         + (extract(month FROM p_end) - extract(month FROM p_start)) * 30 + (d2 - d1);
END $$;

CREATE FUNCTION note_quote(
    p_note int, p_markup numeric, p_fee_percent numeric, p_today date,
    OUT principal numeric, OUT accrued numeric, OUT premium numeric, OUT price numeric,
    OUT fee numeric
) LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_amount numeric;
    v_loan int;
    v_funded numeric;
    v_owed numeric := 0;
    v_span int;
    v_elapsed int;
    v_earned numeric;
    r record;
BEGIN
    SELECT n.amount, n.principal_outstanding, n.loan_id INTO v_amount, principal, v_loan
      FROM investments n WHERE n.id = p_note;
    SELECT l.funded_amount INTO v_funded FROM loans l WHERE l.id = v_loan;
    FOR r IN SELECT i.due_date, i.interest_due, i.interest_paid, i.interest_settled,
                    i.accrual_start
               FROM installments i
              WHERE i.loan_id = v_loan AND i.status IN ('scheduled', 'due', 'late')
              ORDER BY i.due_date, i.number LOOP
        IF r.due_date <= p_today THEN
            v_owed := v_owed + r.interest_due - r.interest_paid;
            CONTINUE;
        END IF;
        v_span := days_30_360(r.accrual_start, r.due_date);
        IF v_span <= 0 THEN
            v_earned := r.interest_due;
        ELSE
            v_elapsed := least(greatest(days_30_360(r.accrual_start, p_today), 0), v_span);
            v_earned := r.interest_settled
                + round_half_even((r.interest_due - r.interest_settled) * v_elapsed / v_span, 2);
        END IF;
        v_owed := v_owed + greatest(v_earned - r.interest_paid, 0);
        EXIT;  -- only the running installment accrues
    END LOOP;
    accrued := round_half_even(v_owed * v_amount / v_funded, 2);
    price := round_half_even((principal + accrued) * (1 + p_markup / 100), 2);
    premium := price - principal - accrued;
    fee := round_half_even(price * p_fee_percent / 100, 2);
END $$;

CREATE FUNCTION ledger_account_id(p_code text, p_kind text, p_side text, p_owner int,
                                  p_now timestamptz) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_id int;
BEGIN
    SELECT id INTO v_id FROM ledger_accounts WHERE code = p_code;
    IF NOT FOUND THEN
        INSERT INTO ledger_accounts (code, kind, normal_side, allow_negative, owner_id, balance,
                                     created_at)
        VALUES (p_code, p_kind, p_side, p_kind = 'fee_revenue', p_owner, 0, p_now)
            ON CONFLICT (code) DO NOTHING RETURNING id INTO v_id;
        IF v_id IS NULL THEN
            SELECT id INTO v_id FROM ledger_accounts WHERE code = p_code;
        END IF;
    END IF;
    RETURN v_id;
END $$;

DROP FUNCTION buy_note(int, int, text, text, text, text, timestamptz, numeric, numeric,
                       numeric, numeric, numeric, numeric, numeric, numeric, date, timestamptz,
                       int, int, int, int, text, inet, text, boolean, text, text);

CREATE FUNCTION buy_note(
    p_buyer int, p_listing int, p_key text, p_scope text, p_hash text, p_status text,
    p_price numeric, p_fee_percent numeric, p_cap numeric, p_share numeric, p_today date,
    p_now timestamptz, p_strategy int, p_reason text, p_ip inet, p_agent text,
    p_emailed boolean,
    OUT code text, OUT trade_id bigint, OUT entry_id bigint, OUT detail text,
    OUT seller_id int, OUT note_id int, OUT loan_id int, OUT principal numeric,
    OUT accrued numeric, OUT markup numeric, OUT premium numeric, OUT price numeric,
    OUT fee numeric, OUT cost_premium numeric, OUT held_since timestamptz
) LANGUAGE plpgsql AS $$
DECLARE
    v_listing note_listings%ROWTYPE;
    v_note investments%ROWTYPE;
    v_loan loans%ROWTYPE;
    v_role text;
    v_active boolean;
    v_net_worth numeric;
    v_buyer_cash int;
    v_seller_cash int;
    v_revenue int;
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
    markup := v_listing.markup_percent;
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
    SELECT * INTO v_loan FROM loans
     WHERE id = (SELECT n.loan_id FROM investments n WHERE n.id = v_listing.investment_id)
       FOR KEY SHARE;
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
    SELECT q.principal, q.accrued, q.premium, q.price, q.fee
      INTO principal, accrued, premium, price, fee
      FROM note_quote(v_note.id, v_listing.markup_percent, p_fee_percent, p_today) q;
    IF price <> p_price THEN
        code := 'price'; detail := CAST(price AS text); RETURN;
    END IF;

    SELECT u.role, u.is_active, u.net_worth INTO v_role, v_active, v_net_worth
      FROM users u WHERE u.id = p_buyer;
    IF NOT FOUND OR v_role <> 'lender' OR NOT v_active THEN
        code := 'inactive'; detail := v_role; RETURN;
    END IF;
    SELECT a.id, -a.balance INTO v_buyer_cash, v_available
      FROM ledger_accounts a WHERE a.code = 'lender:' || p_buyer || '\\:cash' FOR UPDATE;
    IF EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.user_id = p_buyer AND k.key = p_key) THEN
        code := 'key_used'; RETURN;  -- an earlier request with this key: Python replays it
    END IF;
    IF v_buyer_cash IS NULL OR v_available < price THEN
        code := 'cash'; detail := CAST(coalesce(v_available, 0) AS text); RETURN;
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
    IF v_net_worth IS NULL OR v_in_notes + price > trunc(v_net_worth * p_share / 100, 2) THEN
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
    v_seller_cash := ledger_account_id('lender:' || v_listing.seller_id || '\\:cash',
                                       'lender_cash', 'credit', v_listing.seller_id, p_now);
    trade_id := nextval('note_trades_id_seq');
    -- Trading fees go to one of eight revenue sub-accounts: one account would be a row every
    -- purchase on the platform waits for, from its postings to its COMMIT.
    v_revenue := ledger_account_id('platform\\:fee_revenue\\:trading\\:' || (trade_id % 8),
                                   'fee_revenue', 'credit', NULL, p_now);
    entry_id := nextval('journal_entries_id_seq');
    UPDATE investments SET lender_id = p_buyer, updated_at = p_now WHERE id = v_note.id;
    UPDATE note_listings SET status = 'sold', ended_at = p_now, updated_at = p_now
     WHERE id = p_listing;
    -- The entry first (no balance moves until its postings), so the trade's foreign key holds.
    INSERT INTO journal_entries (id, kind, memo, effective_date, idempotency_key, loan_id,
                                 user_id, details, created_at)
    VALUES (entry_id, 'note_trade',
            'Note #' || v_note.id || ' of loan #' || v_loan.id || ' sold by lender '
                || v_listing.seller_id || ' to lender ' || p_buyer,
            p_now, 'note_trade\\:' || p_listing, v_loan.id, p_buyer,
            jsonb_build_object('listing_id', p_listing, 'note_id', v_note.id), p_now);
    INSERT INTO note_trades (id, listing_id, investment_id, seller_id, buyer_id, trade_date,
                             principal, accrued_interest, markup_percent, premium, price, fee,
                             seller_cost_premium, realised_gain, seller_held_since, traded_at,
                             journal_entry_id, strategy_id, buy_reason)
    VALUES (trade_id, p_listing, v_note.id, v_listing.seller_id, p_buyer, p_today, principal,
            accrued, markup, premium, price, fee, cost_premium, premium - fee - cost_premium,
            held_since, p_now, entry_id, p_strategy, p_reason);
    INSERT INTO idempotency_keys (user_id, key, scope, request_hash, status, response_code,
                                  resource_type, resource_id, created_at, completed_at)
    VALUES (p_buyer, p_key, p_scope, p_hash, 'done', 201, 'note_trade', trade_id, p_now, p_now);
    INSERT INTO activity_logs (user_id, action, entity_type, entity_id, details, ip_address,
                               user_agent, created_at)
    VALUES (p_buyer, 'note.traded', 'note_trades', trade_id,
            jsonb_build_object('note_id', v_note.id, 'seller_id', v_listing.seller_id,
                               'price', CAST(price AS text)),
            p_ip, left(p_agent, 500), p_now);
    INSERT INTO notifications (user_id, kind, title, body, link_endpoint, link_args, data,
                               dedupe_key, created_at)
    VALUES (v_listing.seller_id, 'note_sold', 'Your note sold',
            'Your note in loan #' || v_loan.id || ' sold for $'
                || to_char(price, 'FM999,999,999,990.00') || '; after the $'
                || to_char(fee, 'FM999,999,999,990.00') || ' trading fee, $'
                || to_char(price - fee, 'FM999,999,999,990.00') || ' is in your cash.',
            'lender.trades_index', '{}'::jsonb,
            jsonb_build_object('price', to_char(price, 'FM999999999990.00'),
                               'fee', to_char(fee, 'FM999999999990.00')),
            'note_sold:' || trade_id, p_now)
    RETURNING id INTO v_notice;
    IF p_emailed THEN
        INSERT INTO outbox_messages (kind, payload, dedupe_key, status, attempts, max_attempts,
                                     user_id, progress, created_at, available_at)
        VALUES ('send_email', jsonb_build_object('notification_id', v_notice),
                'email-' || v_notice, 'pending', 0, 5, v_listing.seller_id, 0, p_now, p_now);
    END IF;

    -- Last, so the hottest rows (a fee-revenue sub-account, the seller's cash) are held for
    -- this statement and the COMMIT alone: the postings' trigger moves the balances.
    INSERT INTO postings (entry_id, account_id, amount)
    SELECT entry_id, leg.account_id, leg.amount
      FROM (VALUES (v_buyer_cash, price), (v_seller_cash, -(price - fee)),
                   (v_revenue, -fee)) AS leg (account_id, amount)
     WHERE leg.amount <> 0;  -- a fee that rounds to nothing has no leg
    code := 'done';
END $$;
"""

DOWN = """
DROP FUNCTION buy_note(int, int, text, text, text, text, numeric, numeric, numeric, numeric,
                       date, timestamptz, int, text, inet, text, boolean);
DROP FUNCTION ledger_account_id(text, text, text, int, timestamptz);
DROP FUNCTION note_quote(int, numeric, numeric, date);
DROP FUNCTION days_30_360(date, date);
"""


def upgrade():
    op.execute(UP)


def downgrade():
    op.execute(DOWN)
    op.execute(_previous().UP)  # 0035's buy_note, as it was


def _previous():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0035_buy_note_function.py")
    spec = importlib.util.spec_from_file_location("buy_note_0035", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
