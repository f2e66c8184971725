"""Statements and tax documents: one stored statement per user, kind and period

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 09:40:00

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "lender_month",
                "lender_year",
                "borrower_month",
                "borrower_year",
                name="statement_kind",
                native_enum=False,
                create_constraint=True,
                length=14,
            ),
            nullable=False,
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("csv", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_statements_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_statements")),
        sa.UniqueConstraint(
            "user_id",
            "kind",
            "period_start",
            name=op.f("uq_account_statements_user_id_kind_period_start"),
        ),
    )
    op.create_index(
        "ix_account_statements_kind_period_start",
        "account_statements",
        ["kind", "period_start"],
        unique=False,
    )
    op.create_index(
        "ix_journal_entries_effective_date", "journal_entries", ["effective_date"], unique=False
    )


def downgrade():
    op.drop_index("ix_journal_entries_effective_date", table_name="journal_entries")
    op.drop_index("ix_account_statements_kind_period_start", table_name="account_statements")
    op.drop_table("account_statements")
