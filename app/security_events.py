"""Security events: refusals worth an investigator's time, logged with who and from where.

Every activity row written while a request is served carries its address and agent (set here
for `activity.record`). Refusals (403, someone else's object, a CSRF failure, a rate limit) are
logged as they happen; the request is refused, so its unfinished work is rolled back first and
the event alone is committed.
"""

import logging

from flask import Flask, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.services.platform import activity

log = logging.getLogger(__name__)


def install(app: Flask) -> None:
    @app.before_request
    def name_the_client() -> None:
        activity.acting_from(request.remote_addr, request.headers.get("User-Agent"))

    @app.teardown_request
    def forget_the_client(_error) -> None:
        activity.acting_from(None, None)


def security_event(action: str, user_id: int | None = None, **details) -> None:
    """Log a refusal now, in a transaction of its own (the user: as given, else signed in)."""
    if user_id is None and current_user and current_user.is_authenticated:
        user_id = current_user.id
    try:
        db.session.rollback()
        activity.record(
            db.session,
            action,
            user_id=user_id,
            method=request.method,
            path=request.path[:300],
            **details,
        )
        db.session.commit()
    except SQLAlchemyError:  # the refusal still goes out; the log says why the event is missing
        db.session.rollback()
        log.exception("could not record %s", action)


def record_viewing(action: str, entity, **details) -> None:
    """Log that the signed-in person looked at someone's personal data (a document, a person,
    an application), and keep the row whatever the page does next."""
    activity.record(db.session, action, user_id=current_user.id, entity=entity, **details)
    db.session.commit()
