"""Notes and journal entries may check their loan at COMMIT

An investment writes its note and ledger entry before it reserves the loan, so the hot loan
row is held for one statement. Checked at once, each of those foreign keys would take a share
lock on the loan row first, and every investor in a popular loan would queue on it (and on the
multixact the shared locks make) before anyone updates it. The constraints stay immediate for
everyone else; `investing_sql` defers them for its own transaction.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:00:00

"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

CONSTRAINTS = {
    'investments': 'fk_investments_loan_id_loans',
    'journal_entries': 'fk_journal_entries_loan_id_loans',
}


def upgrade():
    for table, name in CONSTRAINTS.items():
        op.execute(f'ALTER TABLE {table} ALTER CONSTRAINT {name} DEFERRABLE INITIALLY IMMEDIATE')


def downgrade():
    for table, name in CONSTRAINTS.items():
        op.execute(f'ALTER TABLE {table} ALTER CONSTRAINT {name} NOT DEFERRABLE')
