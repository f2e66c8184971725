"""State every node shares: a model activated through one node scores on another, and a
document uploaded through one downloads through another, because both live in the database,
not on the disk of the machine that took them. Two live servers of the app (two nodes, each
with an upload folder of its own that stays empty) share only the database."""

import json
import re
import sys
from contextlib import contextmanager

import pytest
import requests

from app.models import Role
from app.risk import registry
from app.services.accounts import api_tokens
from app.services.platform import risk_models
from tests.factories import UserFactory
from tests.helpers import PASSWORD, live_server_environment
from tests.mailbox import free_port
from tests.stack.soak_clients import APPLICATION
from tests.stripe_peer import serve, stop

pytestmark = pytest.mark.committing

TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


@contextmanager
def two_nodes(tmp_path):
    """Two nodes of the app on one database, each with a disk of its own."""
    nodes = []
    try:
        for name in ("node-a", "node-b"):
            port, disk = free_port(), tmp_path / name
            environment = live_server_environment(port, UPLOAD_FOLDER=str(disk))
            server, log = serve([sys.executable, "-m", "app.devserver"],
                                f"http://127.0.0.1:{port}/healthz", environment)  # fmt: skip
            nodes.append((f"http://127.0.0.1:{port}", disk, server, log))
        yield [(url, disk) for url, disk, _, _ in nodes]
    finally:
        for _, _, server, log in nodes:
            stop(server, log)


def signed_in(node: str, email: str) -> requests.Session:
    """A session signed in on `node` through its form; its CSRF token rides in `.csrf`."""
    session = requests.Session()
    token = TOKEN.search(session.get(f"{node}/login", timeout=30).text).group(1)
    answer = session.post(f"{node}/login", data={"email": email, "password": PASSWORD},
                          headers={"X-CSRFToken": token}, allow_redirects=False, timeout=30)  # fmt: skip
    assert answer.status_code == 303
    session.csrf = TOKEN.search(session.get(f"{node}/account/documents", timeout=30).text).group(1)
    return session


def test_a_model_activated_through_one_node_scores_on_another(committed, tmp_path):
    shipped = registry.load(registry.default_version())
    shipped.metadata = {**shipped.metadata, "created_at": "2026-12-04T12:00:00+00:00"}
    data, meta = registry.to_bytes(shipped)  # a new version: another digest
    version = shipped.version
    assert version != registry.default_version()
    assert not (registry.ARTIFACTS / f"model-{version}.joblib").exists()
    risk_models.register(committed, version, data, meta)  # as training on any node leaves it
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory(role=Role.BORROWER)
    secret, _ = api_tokens.issue(committed, person, days=1)
    committed.commit()

    with two_nodes(tmp_path) as ((node_a, _), (node_b, _)):
        scored_before = _assess(node_b, secret)
        admin_on_a = signed_in(node_a, admin.email)
        activated = admin_on_a.post(f"{node_a}/admin/risk/{version}/activate",
                                    headers={"X-CSRFToken": admin_on_a.csrf}, timeout=30)  # fmt: skip
        assert activated.ok and f"{version} now scores new applications" in activated.text
        scored_after = _assess(node_b, secret)
    assert scored_before["modelVersion"] != version
    assert scored_after["modelVersion"] == version and scored_after["scorer"] == "ml"


def _assess(node: str, secret: str) -> dict:
    answer = requests.post(f"{node}/api/v1/ml/assess-risk", data=json.dumps(APPLICATION),
                           headers={"Authorization": f"Bearer {secret}",
                                    "Content-Type": "application/json"}, timeout=30)  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()


PDF = b"%PDF-1.4\n% shared between nodes\n1 0 obj<<>>endobj\n%%EOF\n"


def test_a_document_uploaded_through_one_node_downloads_through_another(committed, tmp_path):
    from app.models import Document

    owner = UserFactory(role=Role.BORROWER)
    committed.commit()
    with two_nodes(tmp_path) as ((node_a, disk_a), (node_b, disk_b)):
        on_a = signed_in(node_a, owner.email)
        uploaded = on_a.post(f"{node_a}/account/documents", data={"kind": "income"},
                             files={"file": ("pay.pdf", PDF, "application/pdf")},
                             headers={"X-CSRFToken": on_a.csrf}, timeout=30)  # fmt: skip
        assert uploaded.ok and "Document uploaded" in uploaded.text
        committed.expire_all()
        document = committed.query(Document).filter_by(user_id=owner.id).one()
        on_b = signed_in(node_b, owner.email)
        download = on_b.get(f"{node_b}/account/documents/{document.id}/download", timeout=30)
        assert download.status_code == 200 and download.content == PDF
    for disk in (disk_a, disk_b):  # neither node kept it on its own disk
        assert not disk.exists() or not any(disk.iterdir())


def test_move_documents_brings_older_files_into_the_database(app, committed, tmp_path, monkeypatch):
    from app.extensions import get_key_ring
    from app.models import Document
    from app.services.accounts import documents

    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))
    owner = UserFactory(role=Role.BORROWER)
    committed.flush()
    older = Document(
        user_id=owner.id, kind="income", original_filename="old.pdf", stored_name="a" * 32,
        content_type="application/pdf", size_bytes=len(PDF), sha256="0" * 64,
    )  # fmt: skip
    committed.add(older)
    committed.commit()
    (tmp_path / older.stored_name).write_bytes(get_key_ring().seal_bytes(PDF, documents.PURPOSE))
    moved = app.test_cli_runner().invoke(args=["ops", "move-documents"])
    assert moved.exit_code == 0 and "1 document(s) moved" in moved.output
    assert not (tmp_path / older.stored_name).exists()
    committed.expire_all()
    stored = committed.get(Document, older.id)
    assert documents.read(stored, tmp_path, get_key_ring()) == PDF
    again = app.test_cli_runner().invoke(args=["ops", "move-documents"])
    assert "0 document(s) moved" in again.output
