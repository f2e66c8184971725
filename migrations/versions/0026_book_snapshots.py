"""The book's aggregates kept as snapshots, for an admin dashboard that costs the same at any size

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 23:59:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('book_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('figures', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_book_snapshots'))
    )
    with op.batch_alter_table('book_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_book_snapshots_taken_at'), ['taken_at'], unique=False)


def downgrade():
    with op.batch_alter_table('book_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_book_snapshots_taken_at'))
    op.drop_table('book_snapshots')
