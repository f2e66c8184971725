"""Error reporting to Sentry (sentry-sdk, Flask and RQ integrations) when SENTRY_DSN is set.

Nothing personal leaves: no cookies, no Authorization header, no form or JSON body, no query
string, no email or name of the signed-in person (only their id), and no local variables.
"""

import sentry_sdk
from flask import Flask
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.rq import RqIntegration

KEPT_HEADERS = {"User-Agent", "Accept", "Content-Type", "Host", "X-Request-Id"}


def install(app: Flask) -> None:
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        environment=app.config["APP_ENV"],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0,
        before_send=scrubbed,
    )


def report(error: BaseException) -> None:
    """Send an exception our own error handler caught (Flask's signal never fires for those)."""
    sentry_sdk.capture_exception(error)


def scrubbed(event: dict, hint: dict | None = None) -> dict:
    """The event without anything that could name or reach a person."""
    request = event.get("request") or {}
    request.pop("cookies", None)
    request.pop("data", None)
    request.pop("query_string", None)
    request.pop("env", None)
    request["headers"] = {
        name: value
        for name, value in (request.get("headers") or {}).items()
        if name.title() in KEPT_HEADERS
    }
    user = event.get("user") or {}
    event["user"] = {"id": user["id"]} if "id" in user else {}
    for frame_list in _frames(event):
        for frame in frame_list:
            frame.pop("vars", None)
    return event


def _frames(event: dict):
    for exception in (event.get("exception") or {}).get("values") or []:
        yield (exception.get("stacktrace") or {}).get("frames") or []
