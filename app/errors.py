"""Error pages: HTML for the site, JSON under /api (each API's own shape), no stack traces."""

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app import error_reporting
from app.extensions import db
from app.htmx import hx_refresh, is_htmx
from app.security_events import security_event

log = logging.getLogger(__name__)

TEMPLATED = {403, 404, 413, 500}


def register_errorhandlers(app: Flask) -> None:
    """Answer every HTTP error with a friendly page (or JSON for the API)."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz")


SECURITY_EVENTS = {403: "security.forbidden", 429: "security.rate_limited"}


def _http_error(error: HTTPException):
    code = error.code or 500
    if code in SECURITY_EVENTS:
        security_event(SECURITY_EVENTS[code], reason=str(error.description)[:200])
    if _wants_json():
        body = _json_error(error, code)
    elif is_htmx():
        body = render_template("errors/fragment.html", error=error)
    else:
        template = f"errors/{code}.html" if code in TEMPLATED else "errors/generic.html"
        body = render_template(template, error=error)
    return body, code, _protocol_headers(error)


def _protocol_headers(error: HTTPException) -> list[tuple[str, str]]:
    """What the error itself says to clients (Allow on a 405, Retry-After, WWW-Authenticate):
    kept whatever body we answer with; its Content-Type is the body's business."""
    return [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]


def _json_error(error: HTTPException, code: int):
    """{"error", "message", "fields"}; webargs puts its field messages in error.data."""
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    fields = {}
    for location in messages.values():  # {"json": {"amount": ["..."]}, "query": {...}}
        if isinstance(location, dict):
            for name, problems in location.items():
                fields[name] = " ".join(_flatten(problems))
        else:
            fields["_body"] = " ".join(_flatten(location))
    message = "Some fields are not valid." if fields and code == 422 else error.description
    if code == 400 and "_body" in fields:
        message = fields.pop("_body")
    if _original_api():  # the original design's shape: {success: false, error}
        said = "; ".join(f"{name}: {text}" for name, text in fields.items())
        return jsonify(success=False, error=f"{message} {said}".strip())
    error_name = "validation_failed" if code == 422 else error.name.lower().replace(" ", "_")
    return jsonify(error=error_name, message=message, fields=fields)


def _original_api() -> bool:
    return request.path.startswith("/api/") and not request.path.startswith("/api/v1/")


def _flatten(problems) -> list[str]:
    if isinstance(problems, dict):
        return [f"{key}: {text}" for key, value in problems.items() for text in _flatten(value)]
    if isinstance(problems, list):
        return [text for item in problems for text in _flatten(item)]
    return [str(problems)]


def _csrf_error(error: CSRFError):
    log.warning("csrf rejected: %s %s", request.method, request.path)
    security_event("security.csrf_rejected", reason=str(error.description)[:200])
    response = _http_error(error)
    if is_htmx():
        return hx_refresh(make_response(*response))
    return response


def _unexpected_error(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    error_reporting.report(error)
    db.session.rollback()
    if _wants_json():
        if _original_api():
            return jsonify(success=False, error="Something went wrong on our side."), 500
        return jsonify(
            error="internal_error", message="Something went wrong on our side.", fields={}
        ), 500
    return render_template("errors/500.html"), 500
