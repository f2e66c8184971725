"""The original design's sample files import as written (issue 17, part 3).

Its users.csv has no role column (its people are borrowers) and carries a credit score, which
lands on the person labelled as imported; the score an application is decided on stays the
application's own. The three rows follow the header the design documents (its exact sample
rows are not in this repository: `seeds/csv/original/` keeps ours).
"""

import io
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import CreditScoreSource, Role, User
from app.services.platform import imports
from app.services.platform.imports import loader
from tests.factories import UserFactory
from tests.imports.csvfiles import csv_bytes

ORIGINAL = Path(__file__).resolve().parents[2] / "seeds" / "csv" / "original"
HEADER = [
    "email",
    "first_name",
    "last_name",
    "phone",
    "annual_income",
    "employment_status",
    "credit_score",
]


def _load(data: bytes) -> imports.Report:
    return loader.load(db.session, imports.format_for("users", (36, 60)), io.BytesIO(data))


def test_the_original_users_file_imports_as_written():
    data = (ORIGINAL / "users.csv").read_bytes()
    assert data.splitlines()[0].decode().split(",") == HEADER
    report = _load(data)
    assert report.ok and report.rows_imported == 3, report.errors
    people = db.session.scalars(select(User).order_by(User.email)).all()
    assert [(p.email, p.role, p.credit_score) for p in people] == [
        ("bob.wilson@example.com", Role.BORROWER, 650),
        ("jane.smith@example.com", Role.BORROWER, 780),
        ("john.doe@example.com", Role.BORROWER, 720),
    ]
    assert {p.credit_score_source for p in people} == {CreditScoreSource.IMPORTED}
    assert people[2].phone == "555-0101" and str(people[2].annual_income) == "75000.00"


def test_a_credit_score_out_of_range_is_reported_and_nothing_stored():
    rows = [
        ["a@example.com", "A", "One", "", "50000", "employed", "900"],
        ["b@example.com", "B", "Two", "", "50000", "employed", "abc"],
        ["c@example.com", "C", "Three", "", "50000", "employed", ""],
    ]
    report = _load(csv_bytes(HEADER, rows))
    assert not report.ok
    assert {(e["row"], e["column"]) for e in report.errors} == {
        (2, "credit_score"),
        (3, "credit_score"),
    }
    assert db.session.scalars(select(User)).all() == []


def test_without_a_score_nothing_is_labelled_and_a_role_column_still_decides():
    rows = [["d@example.com", "D", "Four", "lender", ""]]
    report = _load(csv_bytes(["email", "first_name", "last_name", "role", "credit_score"], rows))
    assert report.ok, report.errors
    person = db.session.scalars(select(User)).one()
    assert (person.role, person.credit_score, person.credit_score_source) == (
        Role.LENDER,
        None,
        None,
    )


def test_the_admin_sees_the_imported_score_labelled(client, login):
    _load((ORIGINAL / "users.csv").read_bytes())
    person = db.session.scalar(select(User).where(User.email == "jane.smith@example.com"))
    login(UserFactory(role=Role.ADMIN))
    page = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert "<dt>Credit score</dt><dd>780 <span" in page and "(imported)" in page
