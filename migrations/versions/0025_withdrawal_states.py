"""Withdrawals have states (requested, sent, settled, failed) and two ledger accounts

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

KINDS = ['lender_cash', 'lender_committed', 'note_principal', 'loan_receivable',
         'borrower_payable', 'processor_clearing', 'fee_revenue', 'credit_losses']
STATES = ['requested', 'sent', 'settled', 'failed']


def _kind_check(kinds):
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    op.drop_constraint(op.f('ck_ledger_accounts_account_kind'), 'ledger_accounts', type_='check')
    op.create_check_constraint('account_kind', 'ledger_accounts', f"kind IN ({listed})")


def upgrade():
    _kind_check(KINDS + ['payouts_owed', 'payouts_in_transit'])
    with op.batch_alter_table('cash_transfers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payout_state', sa.Enum(*STATES, name='payout_state', native_enum=False, create_constraint=True), nullable=True))
        batch_op.add_column(sa.Column('payout_reference', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('failure_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_cash_transfers_payout_state'), ['payout_state'], unique=False)
    # Withdrawals made before states existed were paid at once: they are settled.
    op.execute("UPDATE cash_transfers SET payout_state = 'settled', sent_at = completed_at "
               "WHERE direction = 'withdrawal'")


def downgrade():
    with op.batch_alter_table('cash_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cash_transfers_payout_state'))
        batch_op.drop_column('sent_at')
        batch_op.drop_column('failure_reason')
        batch_op.drop_column('payout_reference')
        batch_op.drop_column('payout_state')
    _kind_check(KINDS)
