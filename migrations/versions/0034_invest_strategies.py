"""Auto-invest strategies and portfolio exits; which strategy bought each note or trade

A trade's journal entry is checked at COMMIT: the trade is written before its entry, whose
accounts (the platform's fee revenue above all) are the hottest rows of a purchase.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 08:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'invest_strategies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lender_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
        sa.Column('preset', sa.String(length=20), nullable=True),
        sa.Column('grade_weights', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('terms', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('amount_per_note', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('max_per_loan', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('max_loan_share_percent', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('max_per_borrower', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('cash_reserve', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('buy_secondary', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('max_markup_percent', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('reinvest_repayments', sa.Boolean(), server_default='true', nullable=False),
        sa.Column('last_served_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('amount_per_note > 0', name=op.f('ck_invest_strategies_note_positive')),
        sa.CheckConstraint('max_per_loan >= amount_per_note', name=op.f('ck_invest_strategies_loan_cap_covers_note')),
        sa.CheckConstraint('max_per_borrower >= amount_per_note', name=op.f('ck_invest_strategies_borrower_cap_covers_note')),
        sa.CheckConstraint('max_loan_share_percent > 0 AND max_loan_share_percent <= 100', name=op.f('ck_invest_strategies_share_valid')),
        sa.CheckConstraint('cash_reserve >= 0', name=op.f('ck_invest_strategies_reserve_not_negative')),
        sa.CheckConstraint('max_markup_percent BETWEEN -100 AND 100', name=op.f('ck_invest_strategies_markup_sane')),
        sa.ForeignKeyConstraint(['lender_id'], ['users.id'], name=op.f('fk_invest_strategies_lender_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invest_strategies')),
    )
    op.create_index('ix_invest_strategies_enabled_served', 'invest_strategies', ['enabled', 'last_served_at'], unique=False)
    op.create_index(op.f('ix_invest_strategies_lender_id'), 'invest_strategies', ['lender_id'], unique=False)

    op.create_table(
        'portfolio_exits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lender_id', sa.Integer(), nullable=False),
        sa.Column('markup_percent', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('status', sa.Enum('selling', 'cancelled', 'done', name='exit_status', native_enum=False, create_constraint=True, length=9), nullable=False),
        sa.Column('notes_at_start', sa.Integer(), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('markup_percent BETWEEN -100 AND 0', name=op.f('ck_portfolio_exits_par_or_discount')),
        sa.ForeignKeyConstraint(['lender_id'], ['users.id'], name=op.f('fk_portfolio_exits_lender_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portfolio_exits')),
    )
    op.create_index('uq_portfolio_exits_live_lender', 'portfolio_exits', ['lender_id'], unique=True, postgresql_where=sa.text("status = 'selling'"))

    op.add_column('investments', sa.Column('strategy_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_investments_strategy_id_invest_strategies'), 'investments', 'invest_strategies', ['strategy_id'], ['id'], ondelete='SET NULL')
    op.add_column('note_trades', sa.Column('strategy_id', sa.Integer(), nullable=True))
    op.add_column('note_trades', sa.Column('buy_reason', sa.String(length=500), nullable=True))
    op.create_foreign_key(op.f('fk_note_trades_strategy_id_invest_strategies'), 'note_trades', 'invest_strategies', ['strategy_id'], ['id'], ondelete='SET NULL')
    op.drop_constraint('fk_note_trades_journal_entry_id_journal_entries', 'note_trades', type_='foreignkey')
    op.create_foreign_key('fk_note_trades_journal_entry_id_journal_entries', 'note_trades', 'journal_entries', ['journal_entry_id'], ['id'], ondelete='RESTRICT', deferrable=True, initially='DEFERRED')


def downgrade():
    op.drop_constraint('fk_note_trades_journal_entry_id_journal_entries', 'note_trades', type_='foreignkey')
    op.create_foreign_key('fk_note_trades_journal_entry_id_journal_entries', 'note_trades', 'journal_entries', ['journal_entry_id'], ['id'], ondelete='RESTRICT')
    op.drop_constraint(op.f('fk_note_trades_strategy_id_invest_strategies'), 'note_trades', type_='foreignkey')
    op.drop_column('note_trades', 'buy_reason')
    op.drop_column('note_trades', 'strategy_id')
    op.drop_constraint(op.f('fk_investments_strategy_id_invest_strategies'), 'investments', type_='foreignkey')
    op.drop_column('investments', 'strategy_id')
    op.drop_table('portfolio_exits')
    op.drop_table('invest_strategies')
