"""/metrics in Prometheus's text format, read back with prometheus_client's own parser: request
latency by endpoint, and the queue, cycle, ledger and sign-in figures from the database; only
the internal network may read it."""

from datetime import UTC, date, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from app.extensions import db
from app.services.money import ledger
from app.services.platform import outbox
from app.services.servicing import servicing
from tests.factories import UserFactory


def _scrape(client) -> dict[str, float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    values = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[sample.name + (f"{{{labels}}}" if labels else "")] = sample.value
    return values


def test_request_latency_is_counted_by_endpoint(client):
    before = _scrape(client).get(
        "communitylend_request_seconds_count{endpoint=health.healthz,method=GET}", 0
    )
    for _ in range(3):
        client.get("/healthz")
    after = _scrape(client)
    assert (
        after["communitylend_request_seconds_count{endpoint=health.healthz,method=GET}"]
        == before + 3
    )
    assert "communitylend_request_seconds_count{endpoint=metrics.metrics,method=GET}" not in after


def test_the_database_figures(client):
    outbox.add(db.session, "welcome_user", {"user_id": 1})
    db.session.flush()
    db.session.execute(
        db.text("UPDATE outbox_messages SET created_at = :then"),
        {"then": datetime.now(UTC) - timedelta(minutes=10)},
    )
    person = UserFactory()
    client.post("/login", data={"email": person.email, "password": "wrong wrong wrong"})
    ledger.verify_and_record(db.session)
    servicing.run_cycle(db.session, date(2025, 3, 1))
    figures = _scrape(client)
    assert figures["communitylend_outbox_waiting"] >= 1
    assert 600 <= figures["communitylend_outbox_oldest_age_seconds"] < 700
    assert figures["communitylend_sign_in_failures_last_hour"] == 1
    assert figures["communitylend_ledger_check_problems"] == 0
    assert (
        figures["communitylend_cycle_business_date_timestamp"]
        == datetime(2025, 3, 1, tzinfo=UTC).timestamp()
    )
    assert figures["communitylend_cycle_duration_seconds"] >= 0


def test_only_the_internal_network_reads_it(client):
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 404
    inside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert inside.status_code == 200
