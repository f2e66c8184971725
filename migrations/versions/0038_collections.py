"""Collections: the timeline's steps, the admins' tasks with notes and promises, agency placements

A step taken is one row of collection_events, unique per loan, due date and step, so the daily
cycle's INSERT ... ON CONFLICT DO NOTHING makes a rerun or a replayed day add nothing. A loan has
at most one task not closed. payment_allocations.agency_fee: the part of a recovery a collection
agency took before the noteholder was paid.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06 09:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('collection_agency_placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('fee_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('placed_on', sa.Date(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('fee_percent >= 0 AND fee_percent <= 100', name=op.f('ck_collection_agency_placements_fee_valid')),
    sa.ForeignKeyConstraint(['admin_id'], ['users.id'], name=op.f('fk_collection_agency_placements_admin_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_collection_agency_placements_loan_id_loans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_agency_placements')),
    sa.UniqueConstraint('loan_id', name=op.f('uq_collection_agency_placements_loan_id'))
    )
    op.create_table('collection_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_collection_events_loan_id_loans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_events'))
    )
    with op.batch_alter_table('collection_events', schema=None) as batch_op:
        batch_op.create_index('ix_collection_events_business_date', ['business_date'], unique=False)
        batch_op.create_index('uq_collection_events_step', ['loan_id', 'due_date', 'step'], unique=True)

    op.create_table('collection_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('open', 'promised', 'closed', name='collection_task_state', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(state = 'closed') = (outcome IS NOT NULL AND closed_on IS NOT NULL)", name=op.f('ck_collection_tasks_closed_with_outcome')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_collection_tasks_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_collection_tasks_loan_id_loans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_tasks'))
    )
    with op.batch_alter_table('collection_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_collection_tasks_state_assignee', ['state', 'assignee_id'], unique=False)
        batch_op.create_index('uq_collection_tasks_active_loan', ['loan_id'], unique=True, postgresql_where=sa.text("state <> 'closed'"))

    op.create_table('collection_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_collection_notes_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['task_id'], ['collection_tasks.id'], name=op.f('fk_collection_notes_task_id_collection_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_notes'))
    )
    with op.batch_alter_table('collection_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_notes_task_id'), ['task_id'], unique=False)

    op.create_table('collection_promises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=True),
    sa.Column('made_on', sa.Date(), nullable=False),
    sa.Column('pay_by', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('state', sa.Enum('pending', 'kept', 'broken', name='promise_state', native_enum=False, create_constraint=True, length=7), nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_collection_promises_amount_positive')),
    sa.CheckConstraint('pay_by >= made_on', name=op.f('ck_collection_promises_pay_by_not_before_made')),
    sa.ForeignKeyConstraint(['admin_id'], ['users.id'], name=op.f('fk_collection_promises_admin_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_collection_promises_loan_id_loans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['collection_tasks.id'], name=op.f('fk_collection_promises_task_id_collection_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_promises'))
    )
    with op.batch_alter_table('collection_promises', schema=None) as batch_op:
        batch_op.create_index('ix_collection_promises_state_pay_by', ['state', 'pay_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_promises_task_id'), ['task_id'], unique=False)

    with op.batch_alter_table('payment_allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency_fee', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_payment_allocations_agency_fee_not_negative'), 'agency_fee >= 0')



def downgrade():
    with op.batch_alter_table('payment_allocations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_allocations_agency_fee_not_negative'), type_='check')
        batch_op.drop_column('agency_fee')

    with op.batch_alter_table('collection_promises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_promises_task_id'))
        batch_op.drop_index('ix_collection_promises_state_pay_by')

    op.drop_table('collection_promises')
    with op.batch_alter_table('collection_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_notes_task_id'))

    op.drop_table('collection_notes')
    with op.batch_alter_table('collection_tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_collection_tasks_active_loan', postgresql_where=sa.text("state <> 'closed'"))
        batch_op.drop_index('ix_collection_tasks_state_assignee')

    op.drop_table('collection_tasks')
    with op.batch_alter_table('collection_events', schema=None) as batch_op:
        batch_op.drop_index('uq_collection_events_step')
        batch_op.drop_index('ix_collection_events_business_date')

    op.drop_table('collection_events')
    op.drop_table('collection_agency_placements')
