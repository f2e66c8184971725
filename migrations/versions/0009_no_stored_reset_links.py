"""Forget the password-reset links earlier versions stored

Before this, a reset notification kept its signed token in `link_args` (shown on the user's
notifications page) and its email kept the link in both bodies (shown on `/admin/jobs`): any
admin could take over any account for an hour. New reset emails mint the token as they are sent
and store neither. This removes what the old ones left: no link on the notification, and the
stored bodies say the link was withheld. There is nothing to put back on downgrade.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00

"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

WITHHELD = '(a one-time link, sent to your mailbox only and never stored)'


def upgrade():
    op.execute(
        "UPDATE notifications SET link_endpoint = NULL, link_args = NULL "
        "WHERE kind = 'auth.password_reset'"
    )
    op.execute(
        f"UPDATE email_messages SET text_body = '{WITHHELD}', html_body = '<p>{WITHHELD}</p>' "
        "WHERE notification_id IN (SELECT id FROM notifications WHERE kind = 'auth.password_reset') "
        "OR text_body LIKE '%/password/reset/%' OR html_body LIKE '%/password/reset/%'"
    )


def downgrade():
    pass
