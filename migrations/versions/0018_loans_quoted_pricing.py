"""Imported loans keep the rate and grade their file quoted, beside ours

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 11:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quoted_rate', sa.Numeric(precision=6, scale=3), nullable=True))
        batch_op.add_column(sa.Column('quoted_grade', sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_column('quoted_grade')
        batch_op.drop_column('quoted_rate')
