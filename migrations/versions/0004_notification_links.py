"""Notifications link to an endpoint and its arguments, not a URL the services spelled

Services know no URLs; the web and mail code build them with url_for. Existing links are
carried over for every path the services wrote; any other link is dropped (the title and body stay).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# (path pattern, endpoint, argument name or None); the first group is the argument's value.
KNOWN = [
    (r"^/borrower/applications/(\d+)$", "borrower.application_show", "loan_id"),
    (r"^/borrower/loans/(\d+)$", "borrower.loan_show", "loan_id"),
    (r"^/password/reset/([^/]+)$", "auth.password_reset_form", "token"),
    (r"^/account/documents$", "auth.document_index", None),
    (r"^/account$", "auth.profile_show", None),
    (r"^/lender/$", "lender.dashboard", None),
]


def upgrade():
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.add_column(sa.Column('link_endpoint', sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column('link_args', postgresql.JSONB(astext_type=sa.Text()), nullable=True)
        )
    for pattern, endpoint, argument in KNOWN:
        if argument is None:
            args = "'{}'::jsonb"
        elif argument == "loan_id":
            args = f"jsonb_build_object('{argument}', (regexp_match(link, :pattern))[1]::bigint)"
        else:
            args = f"jsonb_build_object('{argument}', (regexp_match(link, :pattern))[1])"
        op.get_bind().execute(
            sa.text(
                f"UPDATE notifications SET link_endpoint = :endpoint, link_args = {args} "
                "WHERE link ~ :pattern"
            ),
            {"endpoint": endpoint, "pattern": pattern},
        )
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_column('link')


def downgrade():
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.add_column(sa.Column('link', sa.String(length=500), nullable=True))
    for pattern, endpoint, argument in KNOWN:
        # "^/borrower/loans/(\\d+)$" -> "/borrower/loans/%s", filled from link_args
        path = pattern.strip("^$").replace("(\\d+)", "%s").replace("([^/]+)", "%s")
        value = f"link_args->>'{argument}'" if argument else "''"
        op.get_bind().execute(
            sa.text(
                f"UPDATE notifications SET link = format(:path, {value}) "
                "WHERE link_endpoint = :endpoint"
            ),
            {"endpoint": endpoint, "path": path},
        )
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_column('link_args')
        batch_op.drop_column('link_endpoint')
