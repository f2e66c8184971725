"""State every node shares: a model trained on one node scores on another, and a document
uploaded through one downloads through another, because both live in the database, not on the
disk of the machine that took them. Each test writes through this process and reads through a
live server (a second process) whose upload folder is empty."""

import json
import sys
from urllib.request import Request, urlopen

import pytest

from app.models import Role
from app.risk import registry
from app.services.accounts import api_tokens
from app.services.platform import risk_models
from tests.browserless import Browserless
from tests.factories import UserFactory
from tests.helpers import PASSWORD, live_server_environment
from tests.mailbox import free_port
from tests.stack.soak_clients import APPLICATION
from tests.stripe_peer import serve, stop

pytestmark = pytest.mark.committing


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


PDF = b"%PDF-1.4\n% shared between nodes\n1 0 obj<<>>endobj\n%%EOF\n"


def test_a_document_stored_through_one_node_downloads_through_another(app, committed, tmp_path):
    from app.extensions import get_key_ring
    from app.models import DocumentKind
    from app.services.accounts import documents

    owner = UserFactory(role=Role.BORROWER)
    committed.flush()
    document = documents.store(
        committed, user_id=owner.id, kind=DocumentKind.INCOME, filename="pay.pdf", data=PDF,
        max_size=1_000_000, allowed=("pdf",), ring=get_key_ring(),
    )  # fmt: skip
    committed.commit()
    port = free_port()
    other_disk = tmp_path / "another-machine"  # nothing was ever written here
    environment = live_server_environment(port, UPLOAD_FOLDER=str(other_disk))
    server, log = serve([sys.executable, "-m", "app.devserver"],
                        f"http://127.0.0.1:{port}/healthz", environment)  # fmt: skip
    try:
        visitor = Browserless(f"http://127.0.0.1:{port}")
        token = visitor.token("/login")
        signed_in = visitor.post("/login", {"email": owner.email, "password": PASSWORD}, token)
        assert signed_in == 303
        url = f"http://127.0.0.1:{port}/account/documents/{document.id}/download"
        with visitor.opener.open(url, timeout=30) as answer:
            assert answer.read() == PDF
    finally:
        stop(server, log)
    assert not other_disk.exists() or not any(other_disk.iterdir())


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
