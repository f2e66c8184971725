"""The secondary market: note listings and trades; who each payment allocation paid

A note can now change hands, so `investments.lender_id` is its owner now, and each payment
allocation records the lender it paid (backfilled from the note's one owner so far).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 07:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

LISTING_STATUS = ('listed', 'sold', 'cancelled', 'ended')
LOAN_STATUS = ('current', 'grace', 'late_16_30', 'late_31_120', 'default', 'charged_off', 'paid_off')


def upgrade():
    op.create_table(
        'note_listings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('investment_id', sa.Integer(), nullable=False),
        sa.Column('seller_id', sa.Integer(), nullable=False),
        sa.Column('markup_percent', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('status', sa.Enum(*LISTING_STATUS, name='listing_status', native_enum=False, create_constraint=True, length=9), nullable=False),
        sa.Column('listed_loan_status', sa.Enum(*LOAN_STATUS, name='listed_loan_status', native_enum=False, create_constraint=True, length=11), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('markup_percent BETWEEN -100 AND 100', name=op.f('ck_note_listings_markup_sane')),
        sa.ForeignKeyConstraint(['investment_id'], ['investments.id'], name=op.f('fk_note_listings_investment_id_investments'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['seller_id'], ['users.id'], name=op.f('fk_note_listings_seller_id_users'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_note_listings')),
    )
    op.create_index('uq_note_listings_live_note', 'note_listings', ['investment_id'], unique=True, postgresql_where=sa.text("status = 'listed'"))
    op.create_index('ix_note_listings_status_id', 'note_listings', ['status', 'id'], unique=False)
    op.create_index('ix_note_listings_seller_id_status', 'note_listings', ['seller_id', 'status'], unique=False)

    op.create_table(
        'note_trades',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('listing_id', sa.Integer(), nullable=False),
        sa.Column('investment_id', sa.Integer(), nullable=False),
        sa.Column('seller_id', sa.Integer(), nullable=False),
        sa.Column('buyer_id', sa.Integer(), nullable=False),
        sa.Column('trade_date', sa.Date(), nullable=False),
        sa.Column('principal', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('accrued_interest', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('markup_percent', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('premium', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('fee', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('seller_cost_premium', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('realised_gain', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('seller_held_since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('traded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('journal_entry_id', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('buyer_id <> seller_id', name=op.f('ck_note_trades_not_to_oneself')),
        sa.CheckConstraint('price > 0 AND fee >= 0 AND principal > 0', name=op.f('ck_note_trades_amounts_valid')),
        sa.CheckConstraint('premium = price - principal - accrued_interest', name=op.f('ck_note_trades_premium_adds_up')),
        sa.ForeignKeyConstraint(['listing_id'], ['note_listings.id'], name=op.f('fk_note_trades_listing_id_note_listings'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['investment_id'], ['investments.id'], name=op.f('fk_note_trades_investment_id_investments'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['seller_id'], ['users.id'], name=op.f('fk_note_trades_seller_id_users'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['buyer_id'], ['users.id'], name=op.f('fk_note_trades_buyer_id_users'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'], name=op.f('fk_note_trades_journal_entry_id_journal_entries'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_note_trades')),
        sa.UniqueConstraint('listing_id', name=op.f('uq_note_trades_listing_id')),
    )
    op.create_index('ix_note_trades_investment_id_traded_at', 'note_trades', ['investment_id', 'traded_at'], unique=True)
    op.create_index('ix_note_trades_seller_id', 'note_trades', ['seller_id'], unique=False)
    op.create_index('ix_note_trades_buyer_id', 'note_trades', ['buyer_id'], unique=False)

    op.add_column('payment_allocations', sa.Column('lender_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE payment_allocations a SET lender_id = i.lender_id "
        "FROM investments i WHERE i.id = a.investment_id"
    )
    op.alter_column('payment_allocations', 'lender_id', nullable=False)
    op.create_foreign_key(op.f('fk_payment_allocations_lender_id_users'), 'payment_allocations', 'users', ['lender_id'], ['id'], ondelete='RESTRICT')
    op.create_index('ix_payment_allocations_lender_id', 'payment_allocations', ['lender_id'], unique=False)


def downgrade():
    op.drop_index('ix_payment_allocations_lender_id', table_name='payment_allocations')
    op.drop_constraint(op.f('fk_payment_allocations_lender_id_users'), 'payment_allocations', type_='foreignkey')
    op.drop_column('payment_allocations', 'lender_id')
    op.drop_table('note_trades')
    op.drop_table('note_listings')
