"""The admin import pages: upload → preview with errors → confirm → the job → done."""

import io

import pytest
from sqlalchemy import func, select

from app.background import jobs
from app.extensions import db
from app.models import ImportBatch, Loan, OutboxMessage, Role, User
from tests.factories import UserFactory
from tests.helpers import HX
from tests.imports.csvfiles import LOAN_HEADER, USER_HEADER, csv_bytes, loan_row, user_row


@pytest.fixture()
def admin(login):
    return login(UserFactory(role=Role.ADMIN))


def upload(client, kind: str, data: bytes, filename: str = "file.csv"):
    return client.post(
        "/admin/imports",
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("role", [Role.BORROWER, Role.LENDER])
def test_import_pages_refuse_other_roles(client, login, role):
    login(UserFactory(role=role))
    assert client.get("/admin/imports").status_code == 403
    response = upload(client, "users", csv_bytes(USER_HEADER, [user_row("x@example.com")]))
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_upload_shows_every_error_and_imports_nothing(client, admin):
    data = csv_bytes(
        USER_HEADER,
        [
            user_row("good@example.com"),
            user_row("bad-email"),
            user_row("n@example.com", income="-1"),
        ],
    )
    response = upload(client, "users", data)
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert b"2 problems found: nothing was imported" in page.data
    assert b"is not an email address" in page.data and b"must not be negative" in page.data
    assert b"Import 3 rows" not in page.data  # no confirm button
    assert db.session.scalar(select(func.count()).where(User.email == "good@example.com")) == 0


def test_upload_confirm_and_job_import_the_file(client, admin):
    UserFactory(role=Role.BORROWER, email="ok@example.com")
    data = csv_bytes(
        LOAN_HEADER, [loan_row("W-1", "ok@example.com"), loan_row("W-2", "ok@example.com")]
    )
    location = upload(client, "loans", data).headers["Location"]
    page = client.get(location)
    assert b"2 rows, all good" in page.data and b"Import 2 rows" in page.data
    assert b"W-1" in page.data  # the preview

    batch = db.session.scalar(select(ImportBatch))
    assert client.post(f"/admin/imports/{batch.id}/confirm").status_code == 303
    polling = client.get(location)
    assert b'hx-trigger="every 1s"' in polling.data and b"Importing" in polling.data

    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "run_import"))
    assert jobs.run_outbox_message(message.id) == "done", message.last_error
    fragment = client.get(location, headers={"HX-Request": "true"})
    assert b"Imported 2 rows" in fragment.data and b"<html" not in fragment.data
    assert (
        b'id="flash"' in fragment.data and b'hx-swap-oob="true"' in fragment.data
    )  # no stale "queued"
    assert b"every 1s" not in fragment.data  # polling stops when done
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 2


def test_uploading_an_imported_file_again_imports_nothing(client, admin):
    UserFactory(role=Role.BORROWER, email="ok@example.com")
    data = csv_bytes(LOAN_HEADER, [loan_row("W-1", "ok@example.com")])
    upload(client, "loans", data)
    batch = db.session.scalar(select(ImportBatch))
    client.post(f"/admin/imports/{batch.id}/confirm")
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "run_import"))
    jobs.run_outbox_message(message.id)
    again = upload(client, "loans", data, "copy.csv")
    assert again.headers["Location"].endswith(f"/admin/imports/{batch.id}")
    shown = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This file was already imported on" in shown and "(1 of 1 rows)" in shown
    assert client.post(f"/admin/imports/{batch.id}/confirm").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1


@pytest.mark.parametrize(
    ("kind", "filename", "field", "message"),
    [
        ("", "users.csv", "kind", b"Choose what the file holds."),
        ("spreadsheets", "users.csv", "kind", b"Choose what the file holds."),
        ("users", "users.xlsx", "file", b"Only .csv files can be imported."),
        ("users", "", "file", b"Choose a CSV file."),
    ],
)
def test_form_errors_re_render_with_422(client, admin, kind, filename, field, message):
    response = upload(client, kind, b"email\n", filename)
    assert response.status_code == 422
    assert message in response.data
    assert f'id="{field}-error"'.encode() in response.data
    assert b"Recent imports" in response.data  # the whole page
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_form_errors_for_htmx_are_the_form_alone(client, admin):
    response = client.post(
        "/admin/imports",
        data={"kind": "users", "file": (io.BytesIO(b"email\n"), "users.txt")},
        content_type="multipart/form-data",
        headers=HX,
    )
    assert response.status_code == 422
    assert b'id="upload-form"' in response.data and b"<html" not in response.data
    assert b"Only .csv files can be imported." in response.data


def test_a_missing_file_field_is_422_not_an_error(client, admin):
    response = client.post("/admin/imports", data={"kind": "users"})
    assert response.status_code == 422 and b"Choose a CSV file." in response.data


def test_an_over_size_file_is_refused_with_413(client, admin, app):
    app.config["IMPORT_MAX_SIZE"], saved = 1024, app.config["IMPORT_MAX_SIZE"]
    try:
        rows = [user_row(f"u{n}@example.com") for n in range(100)]
        response = upload(client, "users", csv_bytes(USER_HEADER, rows))
    finally:
        app.config["IMPORT_MAX_SIZE"] = saved
    assert response.status_code == 413
    assert b"too large" in response.data.lower()
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_the_import_limit_applies_before_the_csrf_check_reads_the_body(
    client, admin, app, monkeypatch
):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    monkeypatch.setitem(app.config, "IMPORT_MAX_SIZE", 1024)
    rows = [user_row(f"u{n}@example.com") for n in range(100)]
    assert upload(client, "users", csv_bytes(USER_HEADER, rows)).status_code == 413


def test_missing_batch_is_404(client, admin):
    assert client.get("/admin/imports/999999").status_code == 404
