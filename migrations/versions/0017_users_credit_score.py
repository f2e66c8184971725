"""People's credit score, labelled with where it came from (the original design's users.credit_score)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 11:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credit_score_source', sa.Enum('self_reported', 'imported', 'bureau', name='credit_score_source', native_enum=False, create_constraint=True, length=13), nullable=True))
        batch_op.create_check_constraint('credit_score_range', 'credit_score IS NULL OR credit_score BETWEEN 300 AND 850')
        batch_op.create_check_constraint('credit_score_sourced', '(credit_score IS NULL) = (credit_score_source IS NULL)')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('credit_score_sourced', type_='check')
        batch_op.drop_constraint('credit_score_range', type_='check')
        batch_op.drop_column('credit_score_source')
        batch_op.drop_column('credit_score')
