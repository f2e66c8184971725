"""Database connections checked only when they may have gone stale.

A ping on every checkout (`pool_pre_ping`) is a round trip on every request and every
investment. Instead a connection is pinged when it has sat idle in the pool longer than
`POOL_IDLE_PING_SECONDS` (the window in which a server restart, a failover or a proxy's idle
timeout can have closed it), and `pool_recycle` retires old ones. A ping that fails makes the
pool discard that connection and hand out a fresh one, so the request never sees it.
"""

import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Install the idle check on `engine`'s pool."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except (dbapi_connection.OperationalError, dbapi_connection.InterfaceError) as error:
            # The pool retries checkout with a new connection when it sees this.
            raise exc.DisconnectionError("stale pooled connection") from error
