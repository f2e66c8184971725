"""Installments know when their interest starts to accrue (30/360 payoff accrual)

An early payment can end a period before its due date; the next installment's interest then
runs from that day. Existing installments accrue from the previous due date (the first from
the issue date), and nothing of theirs was settled early.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 13:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('installments') as batch_op:
        batch_op.add_column(sa.Column('accrual_start', sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                'interest_settled', sa.Numeric(precision=14, scale=2), server_default='0',
                nullable=False,
            )
        )
    op.execute(
        """
        UPDATE installments i
           SET accrual_start = COALESCE(
                   (SELECT p.due_date FROM installments p
                     WHERE p.loan_id = i.loan_id AND p.number = i.number - 1),
                   (SELECT CAST(l.issued_at AS date) FROM loans l WHERE l.id = i.loan_id),
                   i.due_date - 30)
        """
    )
    with op.batch_alter_table('installments') as batch_op:
        batch_op.alter_column('accrual_start', nullable=False)


def downgrade():
    with op.batch_alter_table('installments') as batch_op:
        batch_op.drop_column('interest_settled')
        batch_op.drop_column('accrual_start')
