"""The original design's sample files import as written (issue 17, part 3).

Its users.csv has no role column (its people are borrowers) and carries a credit score, which
lands on the person labelled as imported; the score an application is decided on stays the
application's own. The three rows follow the header the design documents (its exact sample
rows are not in this repository: `seeds/csv/original/` keeps ours).
"""

import io
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    CreditScoreSource,
    Investment,
    Loan,
    LoanPurpose,
    LoanStatus,
    Role,
    User,
)
from app.services.platform import imports
from app.services.platform.imports import loader, original
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


def _load_loans(data: bytes) -> imports.Report:
    return loader.load(db.session, imports.format_for("loans", (36, 60)), io.BytesIO(data))


def test_the_original_loans_file_imports_as_applications_our_model_prices():
    _load((ORIGINAL / "users.csv").read_bytes())
    data = (ORIGINAL / "loans.csv").read_bytes()
    assert data.splitlines()[0].decode().split(",") == list(original.HEADER)
    report = _load_loans(data)
    assert report.ok and report.rows_imported == 3, report.errors
    loans = db.session.scalars(select(Loan).order_by(Loan.amount)).all()
    assert [(str(loan.amount), loan.term_months, loan.purpose.value) for loan in loans] == [
        ("8000.00", 36, "business"),
        ("15000.00", 36, "debt_consolidation"),
        ("25000.00", 60, "home_improvement"),
    ]
    assert [(str(loan.quoted_rate), loan.quoted_grade) for loan in loans] == [
        ("12.800", "C"),
        ("8.500", "B"),
        ("6.200", "A"),
    ]
    bob = loans[0]
    assert bob.status is LoanStatus.SUBMITTED and bob.interest_rate is None  # ours comes later
    assert (bob.credit_score, str(bob.annual_income)) == (650, "45000.00")  # from his profile
    assert str(bob.monthly_debt) == "468.75"  # 12.5 % of his monthly income, assumed
    assert "assumed at typical values: monthly debt" in bob.description
    assert db.session.scalar(select(func.count()).select_from(Investment)) == 0
    assert _load_loans(data).rows_imported == 0  # the same file again adds nothing


def test_a_borrower_without_a_profile_gets_typical_facts_and_is_told(client):
    UserFactory(role=Role.BORROWER, email="bare@example.com", annual_income=None)
    rows = [["bare@example.com", "5000", "9.99", "36", "other", "b2"]]
    report = _load_loans(csv_bytes(list(original.HEADER), rows))
    assert report.ok, report.errors
    loan = db.session.scalars(select(Loan)).one()
    assert (loan.credit_score, str(loan.annual_income), loan.quoted_grade) == (
        712,
        "56400.00",
        "B2",
    )
    assert loan.description.startswith(
        "Imported from a partner's priced loan file; assumed at typical values: income, "
        "credit score, monthly debt"
    )


def test_bad_cells_and_unknown_borrowers_are_reported_by_row_and_nothing_is_stored():
    _load((ORIGINAL / "users.csv").read_bytes())
    rows = [
        ["john.doe@example.com", "15000", "8.5", "36", "debt_consolidation", "B"],
        ["nobody@example.com", "15000", "8.5", "36", "debt_consolidation", "B"],
        ["jane.smith@example.com", "abc", "8.5", "36", "debt_consolidation", "B"],
        ["jane.smith@example.com", "15000", "8.5", "36", "holiday", "Z9"],
    ]
    report = _load_loans(csv_bytes(list(original.HEADER), rows))
    assert not report.ok
    assert {(e["row"], e["column"], e["message"]) for e in report.errors} == {
        (3, "borrower_email", "no account has this email"),
        (4, "amount", "is not an amount in dollars and cents, like 1500.00"),
        (5, "purpose", "must be one of " + ", ".join(p.value for p in LoanPurpose)),
        (5, "risk_grade", "must be a grade from A to G, alone or with 1 to 5 (like B2)"),
    }
    assert db.session.scalars(select(Loan)).all() == []


def test_the_typical_facts_are_lendingclubs_medians():
    import csv
    import statistics

    from app.risk.features import application_from_lendingclub
    from app.risk.train import DEFAULT_CSV

    with DEFAULT_CSV.open(newline="") as stream:
        rows = [
            application_from_lendingclub(r)
            for r in csv.DictReader(stream)
            if r["credit.policy"] == "1"
        ]
    assert len(rows) == 6_158

    def median(name):
        return statistics.median(float(r[name]) for r in rows)

    from app.services.lending.typical_facts import TYPICAL as typical

    assert float(typical["annual_income"]) == median("annual_income")
    assert typical["credit_score"] == median("credit_score")
    assert typical["credit_history_months"] == round(median("credit_history_months"))
    assert float(typical["revolving_balance"]) == median("revolving_balance")
    assert float(typical["revolving_utilization"]) == median("revolving_utilization")
    assert (typical["inquiries_6m"], typical["delinquencies_2y"], typical["public_records"]) == (
        median("inquiries_6m"),
        median("delinquencies_2y"),
        median("public_records"),
    )
    ratio = statistics.median(
        float(r["monthly_debt"]) * 12 / float(r["annual_income"]) for r in rows
    )
    assert round(ratio, 3) == float(typical["debt_to_income"])


def test_the_admin_sees_the_quoted_pricing_beside_ours(client, login):
    _load((ORIGINAL / "users.csv").read_bytes())
    _load_loans((ORIGINAL / "loans.csv").read_bytes())
    loan = db.session.scalar(select(Loan).where(Loan.amount == 15000))
    login(UserFactory(role=Role.ADMIN))
    page = client.get(f"/admin/applications/{loan.id}").get_data(as_text=True)
    assert "<dt>Quoted in its file</dt><dd>B at 8.50% <span" in page
    assert "ours decides" in page


def test_both_original_files_import_through_flask_import(app):
    runner = app.test_cli_runner()
    for kind in ("users", "loans"):
        result = runner.invoke(args=["import", kind, str(ORIGINAL / f"{kind}.csv")])
        assert result.exit_code == 0, result.output
        assert f"Imported 3 {kind} from {kind}.csv" in result.output
    assert len(db.session.scalars(select(Loan)).all()) == 3


def test_both_original_files_import_through_the_admin_page(client, login):
    """Upload, check and confirm on the page; the import job's own work (`imports.execute`)
    runs here in the test's transaction."""
    from app.models import ImportBatch

    login(UserFactory(role=Role.ADMIN))
    for kind in ("users", "loans"):
        data = (ORIGINAL / f"{kind}.csv").read_bytes()
        client.post(
            "/admin/imports",
            data={"kind": kind, "file": (io.BytesIO(data), f"{kind}.csv")},
            content_type="multipart/form-data",
        )
        batch = db.session.scalar(select(ImportBatch).where(ImportBatch.kind == kind))
        assert (batch.status, batch.rows_total) == ("ready", 3), batch.errors
        assert client.post(f"/admin/imports/{batch.id}/confirm").status_code == 303
        assert batch.status == "queued"
        imports.execute(db.session, batch.id, loan_terms=(36, 60))
        assert (batch.status, batch.rows_imported) == ("imported", 3)
    assert len(db.session.scalars(select(Loan)).all()) == 3
