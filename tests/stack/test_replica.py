"""Reads that may be stale go to a real streaming replica; writes and read-after-write stay on
the primary. The replica is made with pg_basebackup in a second PostgreSQL cluster, and the
app reaches both through PgBouncer in transaction mode, as in `make stack`. Pausing the
replica's replay makes "which server answered" visible: the marketplace (replica) does not
yet list a loan that the portfolio (primary) already shows the lender's note in."""

import time

import psycopg2
import pytest
from flask_login import FlaskLoginClient

from app import create_app
from app.extensions import db
from config import TestConfig
from tests.builders import D, lender, listed_loan
from tests.helpers import PASSWORD

pytestmark = pytest.mark.committing


def _url(port: int, database: str) -> str:
    return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{database}"


@pytest.fixture()
def stack_app(stack_services):
    ports = stack_services.ports

    class StackConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = _url(ports.pgbouncer, "communitylend")
        SQLALCHEMY_BINDS = {"replica": _url(ports.pgbouncer, "communitylend_replica")}
        REDIS_URL = f"redis://127.0.0.1:{ports.redis}/0"

    app = create_app(StackConfig)
    app.test_client_class = FlaskLoginClient
    with app.app_context():
        yield app
        db.session.remove()


def _replica(stack, sql: str):
    connection = psycopg2.connect(host="127.0.0.1", port=stack.ports.replica, user="postgres",
                                  dbname="communitylend")  # fmt: skip
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone() if cursor.description else None
    connection.close()
    return row


def _caught_up(stack) -> bool:
    """The replica has replayed everything the primary has written so far."""
    primary = psycopg2.connect(host="127.0.0.1", port=stack.ports.primary, user="postgres",
                               dbname="communitylend")  # fmt: skip
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (written,) = cursor.fetchone()
    primary.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        (behind,) = _replica(
            stack, f"SELECT pg_wal_lsn_diff('{written}', pg_last_wal_replay_lsn())"
        )
        if behind <= 0:
            return True
        time.sleep(0.1)
    return False


def _listed(client, loan) -> bool:
    page = client.get("/lender/loans").get_data(as_text=True)
    return f'href="/lender/loans/{loan.id}"' in page


def test_marketplace_reads_the_replica_and_the_portfolio_the_primary(stack_services, stack_app):
    investor = lender(D("5000.00"))
    earlier = listed_loan("2000.00")
    db.session.commit()
    assert _caught_up(stack_services)
    client = stack_app.test_client()
    assert (
        client.post("/login", data={"email": investor.email, "password": PASSWORD}).status_code
        == 303
    )
    assert _listed(client, earlier)

    _replica(stack_services, "SELECT pg_wal_replay_pause()")
    try:
        newer = listed_loan("3000.00")
        db.session.commit()
        assert not _listed(client, newer)  # the marketplace is the replica's, a moment behind
        order = {"amount": "250.00", "idempotency_key": "replica-1", "confirmed": "yes"}
        bought = client.post(f"/lender/loans/{newer.id}/investments", data=order)
        assert bought.status_code in (200, 303), bought.data[:300]
        portfolio = client.get("/lender/portfolio").get_data(as_text=True)
        assert f"/lender/loans/{newer.id}" in portfolio  # your own note: the primary's, at once
        exported = client.get("/lender/portfolio/notes.csv").get_data(as_text=True)
        assert len(exported.strip().splitlines()) == 1  # exports are the replica's: header only
    finally:
        _replica(stack_services, "SELECT pg_wal_replay_resume()")
    assert _caught_up(stack_services)
    assert _listed(client, newer)
    exported = client.get("/lender/portfolio/notes.csv").get_data(as_text=True)
    assert len(exported.strip().splitlines()) == 2  # the header and the new note


def test_the_replica_refuses_writes(stack_services):
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        _replica(stack_services, "CREATE TABLE written_on_a_replica (id int)")
