"""Spread holiday interest: each installment records its share of a payment holiday's interest

Under `holiday_interest = "spread"` a holiday's interest H is divided over the new installments;
`installments.deferred_interest_due` is the share included in `interest_due`, so a payoff or a
prepayment collects the part of H not yet paid instead of forgiving it. A note's accrued
interest (`note_quote`, as `app/services/trading/pricing.py`) counts the unpaid shares too:
earned during the holiday, they belong to the seller.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 10:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


NOTE_QUOTE = """
CREATE OR REPLACE FUNCTION note_quote(
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
    v_running boolean := false;
    r record;
BEGIN
    SELECT n.amount, n.principal_outstanding, n.loan_id INTO v_amount, principal, v_loan
      FROM investments n WHERE n.id = p_note;
    SELECT l.funded_amount INTO v_funded FROM loans l WHERE l.id = v_loan;
    FOR r IN SELECT i.due_date, i.interest_due, i.interest_paid, i.interest_settled,
                    i.accrual_start, i.deferred_interest_due AS share
               FROM installments i
              WHERE i.loan_id = v_loan AND i.status IN ('scheduled', 'due', 'late')
              ORDER BY i.due_date, i.number LOOP
        IF r.due_date <= p_today THEN
            v_owed := v_owed + r.interest_due - r.interest_paid;
            CONTINUE;
        END IF;
        IF v_running THEN  -- not begun: only its spread holiday share is earned
            v_owed := v_owed + r.share - least(r.interest_paid, r.share);
            CONTINUE;
        END IF;
        v_running := true;  -- the running installment: its share and its interest to the day
        v_span := days_30_360(r.accrual_start, r.due_date);
        IF v_span <= 0 THEN
            v_earned := r.interest_due;
        ELSE
            v_elapsed := least(greatest(days_30_360(r.accrual_start, p_today), 0), v_span);
            v_earned := r.share + greatest(r.interest_settled - r.share, 0)
                + round_half_even((r.interest_due - r.share
                                   - greatest(r.interest_settled - r.share, 0))
                                  * v_elapsed / v_span, 2);
        END IF;
        v_owed := v_owed + greatest(v_earned - r.interest_paid, 0);
    END LOOP;
    accrued := round_half_even(v_owed * v_amount / v_funded, 2);
    price := round_half_even((principal + accrued) * (1 + p_markup / 100), 2);
    premium := price - principal - accrued;
    fee := round_half_even(price * p_fee_percent / 100, 2);
END $$;
"""


def upgrade():
    op.add_column(
        "installments",
        sa.Column(
            "deferred_interest_due",
            sa.Numeric(precision=14, scale=2),
            server_default="0",
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_installments_deferred_within_interest"),
        "installments",
        "deferred_interest_due >= 0 AND deferred_interest_due <= interest_due",
    )
    op.execute(NOTE_QUOTE)


def downgrade():
    op.execute(_note_quote_0036())
    op.drop_constraint(
        op.f("ck_installments_deferred_within_interest"), "installments", type_="check"
    )
    op.drop_column("installments", "deferred_interest_due")


def _note_quote_0036():
    """0036's note_quote, as it was (it reads no spread share)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0036_note_price_in_sql.py")
    spec = importlib.util.spec_from_file_location("note_price_0036", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    start = module.UP.index("CREATE FUNCTION note_quote(")
    end = module.UP.index("CREATE FUNCTION ledger_account_id(")
    return "CREATE OR REPLACE" + module.UP[start:end][len("CREATE") :]
