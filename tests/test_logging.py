"""Logs as JSON lines that carry the request's id: the access line with status and duration,
every line inside the request, and the lines of the jobs the request queued."""

import io
import json

import pytest
from sqlalchemy import select

from app import observability
from app.background import jobs
from app.extensions import db
from app.models import OutboxMessage


@pytest.fixture()
def json_log(app, monkeypatch):
    """The app's log as parsed JSON lines, while the test runs."""
    buffer = io.StringIO()
    monkeypatch.setitem(app.config, "LOG_FORMAT", "json")
    observability.install_logging(app, stream=buffer)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    yield lines
    monkeypatch.setitem(app.config, "LOG_FORMAT", "text")
    observability.install_logging(app)


def test_a_request_and_the_job_it_queues_log_under_one_id(client, json_log):
    answer = client.post(
        "/api/v1/auth/register",
        json={"email": "trace@example.com", "password": "river lantern copper 42",
              "firstName": "Tess", "lastName": "Trace", "role": "borrower"},
        headers={"X-Request-Id": "req-7f3a.9"},
    )  # fmt: skip
    assert answer.status_code == 201 and answer.headers["X-Request-Id"] == "req-7f3a.9"
    (access,) = [line for line in json_log() if line["name"] == "communitylend.access"]
    assert access["message"] == "POST /api/v1/auth/register 201"
    assert (access["request_id"], access["status"], access["level"]) == ("req-7f3a.9", 201, "INFO")
    assert (
        access["duration_ms"] > 0
        and access["elapsed_ms"] > 0
        and access["path"] == "/api/v1/auth/register"
    )

    queued = db.session.scalars(select(OutboxMessage)).all()
    assert queued and {message.request_id for message in queued} == {"req-7f3a.9"}
    assert jobs.run_outbox_message(queued[0].id) == "done"
    (done,) = [line for line in json_log() if "done in" in line["message"]]
    assert done["request_id"] == "req-7f3a.9" and done["name"] == "app.background.jobs"


def test_a_strange_request_id_is_replaced_not_logged(client, json_log):
    answer = client.get("/healthz", headers={"X-Request-Id": "x" * 65})
    made = answer.headers["X-Request-Id"]
    assert len(made) == 32 and made != "x" * 65
    (access,) = [line for line in json_log() if line["name"] == "communitylend.access"]
    assert access["request_id"] == made
    other = client.get("/healthz", headers={"X-Request-Id": "evil\\nline"}).headers["X-Request-Id"]
    assert "\\n" not in other and len(other) == 32
