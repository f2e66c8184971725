"""The id of the request a piece of work belongs to, across the jobs it queues.

A web request takes the id its caller sent (X-Request-Id, when it is a plain token) or makes
one; the outbox stores it with every job the request queues, and the job runs under it again.
So one id finds, in the logs, a request and everything it caused.
"""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
ACCEPTED = re.compile(r"[A-Za-z0-9._-]{1,64}")


def current() -> str | None:
    return REQUEST_ID.get()


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a plain token of at most 64 characters, else a new one."""
    return header if header and ACCEPTED.fullmatch(header) else uuid.uuid4().hex


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)
