"""The daily population-stability report of scored applications against the training data

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 00:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('model_drift_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version', sa.String(length=40), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('applications', sa.Integer(), nullable=False),
    sa.Column('psi', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_drift_reports'))
    )
    with op.batch_alter_table('model_drift_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_drift_reports_computed_at'), ['computed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('model_drift_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_drift_reports_computed_at'))
    op.drop_table('model_drift_reports')
