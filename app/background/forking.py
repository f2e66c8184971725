"""Make a forking RQ worker cheap per job: its work-horses inherit a warm process.

An RQ worker forks a work-horse for every job, and whatever the parent has not done, every
work-horse does again and throws away: configuring the ORM's mappers (about 60 ms), compiling
the outbox statements, loading the active risk model. Done once in the parent, each fork
inherits them, and a welcome job's cycle through RQ falls from about 110 ms to about 68 ms
(`benchmarks/worker.py`).
"""

import gc
import logging

from sqlalchemy.orm import configure_mappers

from app.extensions import db
from app.models import OutboxMessage
from app.services.platform import risk_models

log = logging.getLogger(__name__)


def warm_before_forking() -> None:
    """Do once, in the worker's parent process, what every job would otherwise redo; then
    close every connection, which must never be shared across a fork (call in an app context)."""
    configure_mappers()
    session = db.session
    try:
        session.get(OutboxMessage, 0, with_for_update=True)  # compiles the statement jobs run first
        risk_models.load_bundle(session, risk_models.active_version(session))
    except Exception as error:  # noqa: BLE001 - a database that is down now is the jobs' concern
        log.warning("worker warm-up skipped: %s", error)
    finally:
        session.rollback()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    # What exists now stays in the parent's pages: a work-horse's collector leaves them alone,
    # so they are shared with the parent instead of copied on the first collection.
    gc.freeze()
