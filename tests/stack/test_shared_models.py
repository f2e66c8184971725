"""A model trained on one node scores on another: it lives in the database, not on the disk of
the machine that trained it. Here one process registers and activates a version that exists on
no disk, and a second process (a live server) scores with it."""

import json
import sys
from urllib.request import Request, urlopen

import pytest

from app.models import Role
from app.risk import registry
from app.services.accounts import api_tokens
from app.services.platform import risk_models
from tests.factories import UserFactory
from tests.helpers import live_server_environment
from tests.mailbox import free_port
from tests.stripe_peer import serve, stop

pytestmark = pytest.mark.committing
APPLICATION = {
    "amount": "8000.00", "termMonths": 36, "purpose": "credit_card", "annualIncome": "72000.00",
    "monthlyDebt": "900.00", "creditScore": 712, "creditHistoryMonths": 120,
    "revolvingBalance": "8000.00", "revolvingUtilization": "42.0", "inquiries6m": 1,
    "delinquencies2y": 0, "publicRecords": 0,
}  # fmt: skip


def test_a_model_kept_in_the_database_scores_on_another_node(committed):
    shipped = registry.load(registry.default_version())
    shipped.metadata = {**shipped.metadata, "created_at": "2026-12-04T12:00:00+00:00"}
    data, meta = registry.to_bytes(shipped)  # a new version: another digest
    version = shipped.version
    assert version != registry.default_version()
    assert not (registry.ARTIFACTS / f"model-{version}.joblib").exists()
    risk_models.register(committed, version, data, meta)
    risk_models.activate(committed, version)
    person = UserFactory(role=Role.BORROWER)
    secret, _ = api_tokens.issue(committed, person, days=1)
    committed.commit()

    port = free_port()
    server, log = serve([sys.executable, "-m", "app.devserver"],
                         f"http://127.0.0.1:{port}/healthz", live_server_environment(port))  # fmt: skip
    try:
        request = Request(
            f"http://127.0.0.1:{port}/api/v1/ml/assess-risk",
            data=json.dumps(APPLICATION).encode(),
            headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
            method="POST",
        )
        with urlopen(request, timeout=30) as answer:  # noqa: S310 - our own loopback server
            scored = json.load(answer)
    finally:
        stop(server, log)
    assert scored["modelVersion"] == version and scored["scorer"] == "ml"
