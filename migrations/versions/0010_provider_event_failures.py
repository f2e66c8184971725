"""A provider event that could not be applied says why

A signed webhook whose event cannot move money (its metadata names no loan or lender, it
carries no amount, a rule refused it) is stored once with the reason, answered 2xx so the
provider stops retrying, and left for an operator.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('provider_events', sa.Column('failure', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('provider_events', 'failure')
