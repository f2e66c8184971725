"""`flask ops backup` and `flask ops restore` with PostgreSQL's own pg_dump and pg_restore: a
backup restored into a fresh database holds the same rows, table for table, its ledger
verifies and its schema is at the same migration; a damaged archive changes nothing."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from app.services.servicing import repayments
from config import TestConfig
from tests.builders import issued_loan

pytestmark = pytest.mark.committing  # pg_dump reads what is committed
# Beside the test database, named after it: concurrent runs on their own databases never meet.
RESTORED = TestConfig.SQLALCHEMY_DATABASE_URI.rsplit("/", 1)[1] + "_restored"


@pytest.fixture()
def fresh_database():
    """An empty database beside the test one, dropped afterwards."""
    admin = create_engine(TestConfig.SQLALCHEMY_DATABASE_URI, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {RESTORED} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {RESTORED}"))
    yield TestConfig.SQLALCHEMY_DATABASE_URI.rsplit("/", 1)[0] + f"/{RESTORED}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {RESTORED} WITH (FORCE)"))
    admin.dispose()


def _book(session):
    loan, _ = issued_loan(["1500", "2500"], issued_on=date(2025, 1, 15))
    for installment in loan.installments[:2]:
        repayments.apply_payment(
            session, loan.id, installment.principal_due + installment.interest_due,
            received_on=installment.due_date, idempotency_key=f"b{installment.number}",
        )  # fmt: skip
    session.commit()


def test_a_backup_restores_into_a_fresh_database_row_for_row(
    app, committed, tmp_path, fresh_database
):
    from app.services.platform import backups

    _book(committed)
    runner = app.test_cli_runner()
    made = runner.invoke(args=["ops", "backup", "--dir", str(tmp_path)])
    assert made.exit_code == 0, made.output
    (archive,) = tmp_path.glob("communitylend-*.dump")
    assert str(archive) in made.output and not list(tmp_path.glob("*.partial"))

    restored = runner.invoke(
        args=["ops", "restore", str(archive), "--into", fresh_database, "--yes"]
    )
    assert restored.exit_code == 0, restored.output
    assert "The ledger verifies." in restored.output
    source = backups.table_counts(TestConfig.SQLALCHEMY_DATABASE_URI)
    copy = backups.table_counts(fresh_database)
    assert copy == source and copy["payments"] == 2 and copy["postings"] > 0
    assert backups.verify_ledger(fresh_database) == []
    engine = create_engine(fresh_database)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        balance = connection.execute(text("SELECT sum(balance) FROM ledger_accounts")).scalar_one()
    engine.dispose()
    head = committed.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == head and balance == Decimal("0")


def test_a_damaged_archive_is_refused_and_changes_nothing(app, committed, tmp_path, fresh_database):
    from app.services.platform import backups

    _book(committed)
    runner = app.test_cli_runner()
    runner.invoke(args=["ops", "backup", "--dir", str(tmp_path)])
    (archive,) = tmp_path.glob("communitylend-*.dump")
    good = runner.invoke(args=["ops", "restore", str(archive), "--into", fresh_database, "--yes"])
    assert good.exit_code == 0, good.output
    before = backups.table_counts(fresh_database)
    damaged = tmp_path / "damaged.dump"
    data = archive.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])  # cut off, as a failed copy would be
    refused = runner.invoke(
        args=["ops", "restore", str(damaged), "--into", fresh_database, "--yes"]
    )
    assert refused.exit_code != 0 and "Nothing was changed." in refused.output
    assert backups.table_counts(fresh_database) == before
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello")
    refused = runner.invoke(
        args=["ops", "restore", str(not_a_dump), "--into", fresh_database, "--yes"]
    )
    assert refused.exit_code != 0 and "pg_restore --list failed" in refused.output
