"""The marketplace's newest-first page straight off a partial index

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 00:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index('ix_loans_listed_newest', [sa.text('listed_at DESC'), sa.text('id DESC')], unique=False, postgresql_where=sa.text("status = 'listed'"))


def downgrade():
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index('ix_loans_listed_newest', postgresql_where=sa.text("status = 'listed'"))
