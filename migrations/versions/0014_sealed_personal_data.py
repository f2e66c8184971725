"""Seal personal data at rest: phone, date of birth and address (AES-GCM)

The columns become text holding sealed values (app/models/sealed.py), and every value already
stored is sealed under the current key. The key ring comes from the app this migration runs
in (`flask db upgrade` builds it from ENCRYPTION_KEYS). Downgrade opens them again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 03:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# column -> its type before sealing
COLUMNS = {
    'phone': 'varchar(32)',
    'date_of_birth': 'date',
    'address_line1': 'varchar(200)',
    'address_line2': 'varchar(200)',
    'city': 'varchar(100)',
    'state': 'varchar(100)',
    'postal_code': 'varchar(20)',
}


def _ring():
    from app.models import sealed

    return sealed.ring()


def _rewrite(change) -> None:
    """Apply `change(column, value)` to every stored value, in one statement per batch."""
    connection = op.get_bind()
    names = ', '.join(COLUMNS)
    rows = connection.execute(sa.text(f'SELECT id, {names} FROM users')).mappings().all()
    updates = [
        {'id': row['id'], **{c: None if row[c] is None else change(c, row[c]) for c in COLUMNS}}
        for row in rows
    ]
    if updates:
        assignments = ', '.join(f'{c} = :{c}' for c in COLUMNS)
        connection.execute(sa.text(f'UPDATE users SET {assignments} WHERE id = :id'), updates)


def upgrade():
    for column in COLUMNS:
        op.execute(f'ALTER TABLE users ALTER COLUMN {column} TYPE text USING {column}::text')
    ring = _ring()
    _rewrite(lambda column, value: ring.seal(str(value), f'users.{column}'))


def downgrade():
    ring = _ring()
    _rewrite(lambda column, value: ring.open(value, f'users.{column}'))
    for column, kind in COLUMNS.items():
        op.execute(f'ALTER TABLE users ALTER COLUMN {column} TYPE {kind} USING {column}::{kind}')
