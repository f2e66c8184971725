"""Adverse-action notices and their human reviews; the term a borrower asked for

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 00:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('adverse_action_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('figures', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('creditor', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('model_version', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_request', sa.Text(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('review_outcome', sa.String(length=20), nullable=True),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_adverse_action_notices_loan_id_loans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_adverse_action_notices_reviewer_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_adverse_action_notices_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adverse_action_notices')),
    sa.UniqueConstraint('loan_id', name=op.f('uq_adverse_action_notices_loan_id'))
    )
    with op.batch_alter_table('adverse_action_notices', schema=None) as batch_op:
        batch_op.create_index('ix_adverse_action_notices_review_waiting', ['review_requested_at'], unique=False, postgresql_where=sa.text('review_requested_at IS NOT NULL AND reviewed_at IS NULL'))
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_term_months', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_column('requested_term_months')
    with op.batch_alter_table('adverse_action_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_adverse_action_notices_review_waiting', postgresql_where=sa.text('review_requested_at IS NOT NULL AND reviewed_at IS NULL'))
    op.drop_table('adverse_action_notices')
