"""Logs an operator can search: one line per record, JSON in production, each carrying the id
of the request (or of the job's request) it belongs to and, inside a request, the time since it
began; and one access line per request with its status and duration."""

import logging
import sys
import time

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from app.services.platform import tracing

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
access_log = logging.getLogger("communitylend.access")


class RequestContext(logging.Filter):
    """Adds request_id to every record, and elapsed_ms, method and path inside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = tracing.current() or "-"
        if has_request_context() and "request_started" in g:
            record.elapsed_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
            record.method, record.path = request.method, request.path
        return True


def install_logging(app: Flask, stream=None) -> None:
    """One handler on the root logger (replaced, never doubled, when apps are built again)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "communitylend", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.communitylend = True
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(
            JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "asctime": "time"})
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestContext())
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    app.logger.setLevel(app.config["LOG_LEVEL"])


def install_request_ids(app: Flask) -> None:
    @app.before_request
    def begin():
        g.request_started = time.perf_counter()
        g.request_id = tracing.request_id_from(request.headers.get("X-Request-Id"))
        g.request_id_token = tracing.REQUEST_ID.set(g.request_id)

    from app.blueprints.metrics import observe

    app.after_request(observe)

    @app.after_request
    def finish(response):
        if "request_id" in g:
            response.headers["X-Request-Id"] = g.request_id
            access_log.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={"status": response.status_code,
                       "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1)},
            )  # fmt: skip
        return response

    @app.teardown_request
    def forget(_error=None):
        token = g.pop("request_id_token", None)
        if token is not None:
            tracing.REQUEST_ID.reset(token)
