"""Encryption at rest: phone, date of birth, address, uploaded documents and TOTP seeds.

Entered the way people enter them (the profile form, an upload), then looked for the way an
attacker with a copy of the database and the upload folder would: every value of every column
of every table as text, and every byte of every stored file. Then a new key joins the ring,
`flask keys rotate` seals everything again, and the old key can go.
"""

import io
import re
from pathlib import Path

import pyotp
from sqlalchemy import text

from app.extensions import db
from app.models import Document, Role, User, sealed
from app.services.platform import rekeying
from app.services.platform.sealing import MAGIC, KeyRing
from tests.factories import UserFactory
from tests.helpers import HX, every_stored_value

SECRETS = {
    "phone": "+1 555 0177",
    "date_of_birth": "1979-11-23",
    "address_line1": "42 Wallaby Way",
    "address_line2": "Flat 9b",
    "city": "Sydneyville",
    "state": "Queensland",
    "postal_code": "Q4000Z",
}
DOCUMENT = b"%PDF-1.4\n% PAYSLIP-MARKER-Quokka-Salary-123456\n1 0 obj<<>>endobj\n%%EOF\n"


def _everything_stored(app) -> str:
    """Every value in the database as text, the documents' stored bytes, and every file in
    the upload folder, as one string."""
    folder = Path(app.config["UPLOAD_FOLDER"])
    files = [path.read_bytes().decode("latin-1") for path in folder.glob("*") if path.is_file()]
    blobs = [
        bytes(blob).decode("latin-1")
        for blob in db.session.scalars(text("SELECT sealed_content FROM documents"))
        if blob is not None
    ]
    return "\n".join([every_stored_value(), *files, *blobs])


def _person_with_everything(client, login) -> tuple[User, str]:
    user = login(UserFactory(role=Role.BORROWER))
    saved = client.post(
        "/account/profile",
        data={"first_name": "Ada", "last_name": "Byron", **SECRETS, "annual_income": "1000"},
        headers=HX,
    )
    assert saved.status_code == 200, saved.data[:300]
    uploaded = client.post(
        "/account/documents",
        data={"kind": "income", "file": (io.BytesIO(DOCUMENT), "payslip.pdf")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 303
    page = client.get("/account/mfa").get_data(as_text=True)
    seed = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert client.post("/account/mfa", data={"code": pyotp.TOTP(seed).now()}).status_code == 200
    return user, seed


def test_the_database_and_upload_folder_hold_no_plaintext(app, client, login):
    user, seed = _person_with_everything(client, login)
    stored = _everything_stored(app)
    for name, value in SECRETS.items():
        assert value not in stored, f"{name} is stored in plaintext"
    assert "PAYSLIP-MARKER" not in stored and seed not in stored

    db.session.expire_all()  # and yet the app reads them back
    assert db.session.get(User, user.id).city == "Sydneyville"
    assert str(db.session.get(User, user.id).date_of_birth) == "1979-11-23"
    document = db.session.query(Document).one()
    assert client.get(f"/account/documents/{document.id}/download").data == DOCUMENT


def test_a_new_key_seals_everything_again_and_the_old_one_can_go(app, client, login):
    user, _ = _person_with_everything(client, login)
    old = app.extensions["key_ring"]
    new_key = b"n" * 32
    both = KeyRing({**old.keys, "next": new_key})
    folder = Path(app.config["UPLOAD_FOLDER"])
    try:
        sealed.use(both)
        counts = rekeying.rotate(db.session, both, folder)
        assert counts == {"column values": 7, "totp seeds": 1, "documents": 1}
        assert rekeying.rotate(db.session, both, folder) == dict.fromkeys(counts, 0)
        raw = db.session.execute(text("SELECT city FROM users WHERE id = :id"), {"id": user.id})
        assert raw.scalar_one().startswith("v1.next.")
        stored = bytes(db.session.scalar(text("SELECT sealed_content FROM documents")))
        assert stored.startswith(MAGIC + b"next\n")

        only_new = KeyRing({"next": new_key})
        sealed.use(only_new)
        db.session.expire_all()
        assert db.session.get(User, user.id).address_line1 == "42 Wallaby Way"
    finally:
        sealed.use(old)


def test_the_cli_reports_what_it_sealed_again(app):
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "sealed again" in result.output


def test_sealed_columns_are_found_from_the_models():
    found = {(table, column) for table, column, _ in rekeying.sealed_columns()}
    assert {("users", name) for name in SECRETS} == found
