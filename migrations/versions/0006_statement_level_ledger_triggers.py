"""Ledger balances move once per statement per account, and entries balance per statement

A row trigger moved an account's running balance once per posting, so a set-based settlement of
thousands of payments updated the clearing and fee-revenue rows thousands of times in one
statement, and checked each entry once per leg. The statement triggers (transition tables)
add each account's total once and check every entry the statement wrote. Every entry is
written in one statement (ledger.post, settlement), so the check is the same, only earlier:
an entry's legs can no longer be split over two statements.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 14:00:00

"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

UP = """
DROP TRIGGER postings_apply_balance ON postings;
DROP TRIGGER postings_balanced ON postings;

CREATE FUNCTION ledger_apply_postings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE unbalanced record;
BEGIN
    SELECT entry_id, sum(amount) AS total INTO unbalanced
      FROM new_postings GROUP BY entry_id HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % is unbalanced by %', unbalanced.entry_id, unbalanced.total
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE ledger_accounts a SET balance = a.balance + moved.total
      FROM (SELECT account_id, sum(amount) AS total FROM new_postings GROUP BY account_id) moved
     WHERE a.id = moved.account_id;
    RETURN NULL;
END $$;

-- The account's CHECK then refuses any statement that would overdraw a guarded account.
CREATE TRIGGER postings_apply_balances AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_postings();
"""

DOWN = """
DROP TRIGGER postings_apply_balances ON postings;
DROP FUNCTION ledger_apply_postings();

CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
CREATE TRIGGER postings_apply_balance AFTER INSERT ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_posting();
"""


def upgrade():
    op.execute(UP)


def downgrade():
    op.execute(DOWN)
