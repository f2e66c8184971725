"""Leave room on each page for the updates money makes constantly (HOT updates)

Every payment moves ledger balances, note principal and loan balances. With full pages
PostgreSQL writes each new row version to another page and adds an entry to every index
(11 % of ledger-account updates were HOT on the servicing benchmark); with room left on the
page the new version stays beside the old one and the indexes are left alone. Applies to
pages written from now on; `VACUUM FULL` rewrites existing ones.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 14:00:00

"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

FILLFACTOR = {'ledger_accounts': 70, 'investments': 80, 'loans': 80}


def upgrade():
    for table, percent in FILLFACTOR.items():
        op.execute(f'ALTER TABLE {table} SET (fillfactor = {percent})')


def downgrade():
    for table in FILLFACTOR:
        op.execute(f'ALTER TABLE {table} RESET (fillfactor)')
