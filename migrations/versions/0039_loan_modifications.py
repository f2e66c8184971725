"""Hardship plans: loan_modifications, and loans marked modified (or settled for less)

A borrower asks for a payment holiday, a re-amortisation, a rate reduction or a settlement;
an admin offers terms; the borrower accepts and the schedule changes (a settlement: once an
admin records its lump sum). At most one open request per loan (a partial unique index).

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06 09:40:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

KIND = ('holiday', 'reamortisation', 'rate_reduction', 'settlement')
STATE = ('requested', 'offered', 'accepted', 'applied', 'declined', 'withdrawn', 'expired')


def upgrade():
    op.add_column('loans', sa.Column('modified', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('loans', sa.Column('modified_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('loans', sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'loan_modifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum(*KIND, name='modification_kind', native_enum=False, create_constraint=True, length=14), nullable=False),
        sa.Column('state', sa.Enum(*STATE, name='modification_state', native_enum=False, create_constraint=True, length=9), nullable=False),
        sa.Column('terms', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('old_schedule', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('new_schedule', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('cost_difference', sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('requested_by', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('approved_by', sa.Integer(), nullable=True),
        sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('accepted_by', sa.Integer(), nullable=True),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_modifications_loan_id_loans'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_loan_modifications_requested_by_users'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_loan_modifications_approved_by_users'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['accepted_by'], ['users.id'], name=op.f('fk_loan_modifications_accepted_by_users'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_modifications')),
    )
    op.create_index('uq_loan_modifications_open_loan', 'loan_modifications', ['loan_id'], unique=True, postgresql_where=sa.text("state IN ('requested', 'offered', 'accepted')"))
    op.create_index('ix_loan_modifications_state_created_at', 'loan_modifications', ['state', 'created_at'], unique=False)
    op.create_index('ix_loan_modifications_loan_id_kind', 'loan_modifications', ['loan_id', 'kind'], unique=False)


def downgrade():
    op.drop_table('loan_modifications')
    op.drop_column('loans', 'settled_at')
    op.drop_column('loans', 'modified_at')
    op.drop_column('loans', 'modified')
