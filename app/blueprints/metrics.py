"""Prometheus metrics at /metrics, for the internal network only.

Request latency is observed in this process (and across gunicorn's workers when
PROMETHEUS_MULTIPROC_DIR is set); the queue, cycle, ledger and sign-in figures are read from the
database at each scrape, so every node reports the same and nothing is lost on a restart.
"""

import ipaddress
import os
import time

from flask import Blueprint, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from app.extensions import db
from app.services.platform import health_figures

bp = Blueprint("metrics", __name__)
REQUEST_SECONDS = Histogram(
    "communitylend_request_seconds",
    "Time to answer a request, by endpoint",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HELP = {
    "outbox_waiting": "Jobs waiting in the outbox (pending or handed to a worker)",
    "outbox_oldest_age_seconds": "Age of the oldest waiting job",
    "jobs_failed": "Jobs that failed every attempt",
    "jobs_retrying": "Waiting jobs that failed at least once",
    "cycle_duration_seconds": "Duration of the last finished servicing cycle",
    "cycle_items_processed": "Installments, fees, statuses, charge-offs and payments the last "
    "cycle handled",
    "cycle_business_date_timestamp": "Business date of the last finished cycle (Unix time)",
    "ledger_check_problems": "Problems the last ledger check found (0: balanced)",
    "ledger_check_timestamp": "When the ledger was last checked (Unix time)",
    "sign_in_failures_last_hour": "Failed sign-ins in the last hour",
}


def observe(response):
    """After each request: its latency, by endpoint (after_request)."""
    if "request_started" in g and request.endpoint != "metrics.metrics":
        REQUEST_SECONDS.labels(request.endpoint or "unmatched", request.method).observe(
            time.perf_counter() - g.request_started
        )
    return response


@bp.get("/metrics")
def metrics():
    """The Prometheus text format; 404 to anyone outside METRICS_ALLOWED_NETWORKS."""
    if not _internal(request.remote_addr):
        abort(404)
    return Response(
        generate_latest(_process_registry()) + generate_latest(_database_registry()),
        mimetype=CONTENT_TYPE_LATEST,
    )


def _internal(address: str | None) -> bool:
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    networks = current_app.config["METRICS_ALLOWED_NETWORKS"]
    return any(client in ipaddress.ip_network(network) for network in networks)


def _process_registry():
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def _database_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    for name, value in health_figures.figures(db.session).items():
        Gauge(f"communitylend_{name}", HELP[name], registry=registry).set(value)
    return registry
