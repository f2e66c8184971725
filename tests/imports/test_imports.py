"""CSV imports through the service: every problem by row and column, all rows or none, no duplicates."""

import io
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import HistoricalOutcome, ImportBatch, Loan, LoanStatus, OutboxMessage, Role, User
from app.services.errors import DomainError
from app.services.platform import imports, risk_models
from app.services.platform.imports import formats, loader, staging
from tests.factories import UserFactory
from tests.imports.csvfiles import (
    LOAN_HEADER,
    OUTCOME_HEADER,
    USER_HEADER,
    csv_bytes,
    loan_row,
    outcome_row,
    user_row,
)

TERMS = (36, 60)


def check(kind: str, data: bytes) -> imports.Report:
    return loader.inspect(db.session, imports.format_for(kind, TERMS), io.BytesIO(data))


def load(kind: str, data: bytes) -> imports.Report:
    return loader.load(db.session, imports.format_for(kind, TERMS), io.BytesIO(data))


def problems(report) -> set[tuple]:
    return {(e["row"], e["column"], e["message"]) for e in report.errors}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_good_users_file_creates_accounts_that_cannot_sign_in_yet():
    report = load(
        "users",
        csv_bytes(USER_HEADER, [user_row("A@Example.com"), user_row("b@example.com", "lender")]),
    )
    assert report.ok and report.rows_imported == 2
    ann = db.session.scalar(select(User).where(User.email == "a@example.com"))
    assert ann.role is Role.BORROWER and str(ann.annual_income) == "52000.00"
    assert ann.password_hash == "!imported"  # no password verifies against this


def test_every_bad_cell_is_reported_by_row_and_column_and_nothing_is_stored():
    rows = [
        user_row("good@example.com"),
        user_row("not-an-email"),
        user_row("neg@example.com", income="-5"),
        user_row("text@example.com", income="lots"),
        user_row("exp@example.com", income="1e3"),
        user_row("cents@example.com", income="10.555"),
        user_row("boss@example.com", role="admin"),
        user_row("who@example.com", role="pilot"),
        ["", "No", "Email", "borrower", ""],
    ]
    report = load("users", csv_bytes(USER_HEADER, rows))
    assert not report.ok and report.rows_imported == 0
    assert problems(report) == {
        (3, "email", "is not an email address"),
        (4, "annual_income", "must not be negative"),
        (5, "annual_income", "is not an amount in dollars and cents, like 1500.00"),
        (6, "annual_income", "is not an amount in dollars and cents, like 1500.00"),
        (7, "annual_income", "is not an amount in dollars and cents, like 1500.00"),
        (8, "role", "admin accounts cannot be imported"),
        (9, "role", "must be one of borrower, lender"),
        (10, "email", "is required"),
    }
    assert count(User) == 0  # the good row too: all or nothing


def test_duplicate_rows_in_a_file_name_the_first_occurrence():
    rows = [user_row("a@example.com"), user_row("b@example.com"), user_row(" A@example.com")]
    report = check("users", csv_bytes(USER_HEADER, rows))
    assert problems(report) == {(4, "email", "appears more than once (first at row 2)")}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["email", "first_name", "role"], "Missing columns: last_name."),
        ([*USER_HEADER, "password"], "Unknown columns: password."),
        ([*USER_HEADER, "email"], "Columns named twice: email."),
    ],
)
def test_wrong_headers_are_refused_before_any_row_is_read(header, message):
    report = check("users", csv_bytes(header, []))
    assert not report.ok and report.rows_total == 0
    assert report.errors[0]["row"] == 1
    assert report.errors[0]["message"].startswith(message)
    assert "Expected: email, first_name" in report.errors[0]["message"]


def test_header_only_and_empty_files_are_explained():
    assert check("users", csv_bytes(USER_HEADER, [])).errors[0]["message"] == (
        "The file has a header but no rows."
    )
    assert "empty" in check("users", b"").errors[0]["message"]


def test_latin1_file_is_refused_at_the_row_with_the_bad_byte():
    data = csv_bytes(
        USER_HEADER,
        [user_row("a@example.com"), ["z@example.com", "Zoë", "Ñ", "lender", ""]],
        "latin-1",
    )
    report = check("users", data)
    assert not report.ok
    assert report.errors[0]["row"] == 3
    assert "not UTF-8" in report.errors[0]["message"]


def test_utf8_with_bom_crlf_and_quoted_newlines_is_fine():
    rows = [["a@example.com", "Zoë", "O'Brien,\nJr", "borrower", "1000"]]
    data = b"\xef\xbb\xbf" + csv_bytes(USER_HEADER, rows)
    report = load("users", data)
    assert report.ok and report.rows_imported == 1
    assert db.session.scalar(select(User.last_name)) == "O'Brien,\nJr"


def test_ragged_rows_are_reported_with_their_row():
    data = csv_bytes(USER_HEADER, [user_row("a@example.com")]) + b"b@example.com,Bee\r\n"
    report = check("users", data)
    assert problems(report) == {(3, None, "This row has fewer cells than the header has columns.")}


def test_loans_join_borrowers_by_email_and_wait_for_their_score():
    borrower = UserFactory(role=Role.BORROWER, email="borrower@example.com")
    report = load("loans", csv_bytes(LOAN_HEADER, [loan_row("P-1", "BORROWER@example.com")]))
    assert report.ok and report.rows_imported == 1
    loan = db.session.scalar(select(Loan).where(Loan.external_id == "P-1"))
    assert loan.borrower_id == borrower.id and loan.status is LoanStatus.SUBMITTED
    assert str(loan.amount) == "5000.00" and loan.requested_amount == loan.amount
    assert str(loan.revolving_utilization) == "31.500" and loan.funded_amount == 0


def test_loan_rows_with_unknown_or_wrong_borrowers_and_bad_values_are_reported():
    UserFactory(role=Role.LENDER, email="lender@example.com")
    UserFactory(role=Role.BORROWER, email="gone@example.com", is_active=False)
    UserFactory(role=Role.BORROWER, email="ok@example.com")
    rows = [
        loan_row("P-1", "nobody@example.com"),
        loan_row("P-2", "lender@example.com"),
        loan_row("P-3", "gone@example.com"),
        loan_row("P-4", "ok@example.com", amount="-100"),
        loan_row("P-5", "ok@example.com", amount="abc", term_months="48"),
        loan_row("P-6", "ok@example.com", amount="99999", credit_score="900"),
        loan_row("P-1", "ok@example.com"),
    ]
    report = load("loans", csv_bytes(LOAN_HEADER, rows))
    assert problems(report) == {
        (2, "borrower_email", "no account has this email"),
        (3, "borrower_email", "belongs to a lender, not a borrower"),
        (4, "borrower_email", "this borrower is suspended"),
        (5, "amount", "must not be negative"),
        (6, "amount", "is not an amount in dollars and cents, like 1500.00"),
        (6, "term_months", "must be one of 36, 60"),
        (7, "amount", "must be at most 40,000"),
        (7, "credit_score", "must be at most 850"),
        (8, "external_id", "appears more than once (first at row 2)"),
    }
    assert count(Loan) == 0


def test_one_bad_row_among_many_good_ones_imports_nothing():
    UserFactory(role=Role.BORROWER, email="ok@example.com")
    rows = [loan_row(f"P-{n}", "ok@example.com") for n in range(300)]
    rows[217] = loan_row("P-217", "ok@example.com", amount="12,000")
    report = load("loans", csv_bytes(LOAN_HEADER, rows))
    assert report.error_count == 1 and report.errors[0]["row"] == 219
    assert count(Loan) == 0


def test_quick_check_never_passes_what_the_full_check_refuses():
    """The fast path must agree with the per-cell rules on awkward but valid cells, too."""
    UserFactory(role=Role.BORROWER, email="ok@example.com")
    awkward = [
        loan_row("P-1", "ok@example.com", amount=" 1500.5 "),
        loan_row(" P-2", "ok@example.com", revolving_utilization="0"),
        loan_row("P-3", "ok@example.com", amount="40000", monthly_debt="0.00"),
        loan_row("P-4", "ok@example.com", amount="1000", credit_score="300"),
        loan_row("P-5", "ok@example.com", credit_score="0712", inquiries_6m="00"),
        loan_row("P-6", "ok@example.com", credit_score="850", public_records="100"),
    ]
    report = load("loans", csv_bytes(LOAN_HEADER, awkward))
    assert report.ok, report.errors
    bad = [
        loan_row("Q-1", "ok@example.com", amount="999.99"),
        loan_row("Q-2", "ok@example.com", credit_score="700.0"),
        loan_row("Q-3", "ok@example.com", revolving_utilization="10.1234"),
        loan_row("Q-4", "ok@example.com", annual_income="0"),
        loan_row("Q-5", "ok@example.com", inquiries_6m=""),
        loan_row("Q-6", "ok@example.com", amount="1.2.3"),
        loan_row("Q-7", "ok@example.com", amount="1000."),
        loan_row("Q-8", "ok@example.com", credit_score="0900"),
        loan_row("Q-9", "ok@example.com", credit_score="299"),
        loan_row("Q-10", "ok@example.com", public_records="101"),
        loan_row("Q-11", "ok@example.com", credit_score="1000"),
    ]
    report = check("loans", csv_bytes(LOAN_HEADER, bad))
    assert sorted(e["row"] for e in report.errors) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]


def test_reimporting_overlapping_rows_adds_only_the_new_ones():
    UserFactory(role=Role.BORROWER, email="ok@example.com")
    first = load(
        "loans", csv_bytes(LOAN_HEADER, [loan_row(f"P-{n}", "ok@example.com") for n in range(3)])
    )
    again = load(
        "loans", csv_bytes(LOAN_HEADER, [loan_row(f"P-{n}", "ok@example.com") for n in range(5)])
    )
    assert (first.rows_imported, again.rows_imported, again.rows_existing) == (3, 2, 3)
    assert count(Loan) == 5


def test_existing_users_are_skipped_not_duplicated_or_changed():
    UserFactory(email="taken@example.com", first_name="Original")
    report = load(
        "users",
        csv_bytes(USER_HEADER, [user_row("taken@example.com"), user_row("new@example.com")]),
    )
    assert (report.rows_imported, report.rows_existing) == (1, 1)
    assert (
        db.session.scalar(select(User.first_name).where(User.email == "taken@example.com"))
        == "Original"
    )


def test_outcomes_land_in_the_training_table():
    rows = [outcome_row("H-1", "1"), outcome_row("H-2", "no"), outcome_row("H-3", "maybe")]
    report = load("outcomes", csv_bytes(OUTCOME_HEADER, rows))
    assert problems(report) == {(4, "defaulted", "must be 1 or 0 (or yes/no)")}
    report = load("outcomes", csv_bytes(OUTCOME_HEADER, rows[:2]))
    assert report.ok
    stored = dict(
        db.session.execute(select(HistoricalOutcome.external_id, HistoricalOutcome.defaulted)).all()
    )
    assert stored == {"H-1": True, "H-2": False}


def test_batches_preview_confirm_and_run_once():
    admin = UserFactory(role=Role.ADMIN)
    UserFactory(role=Role.BORROWER, email="ok@example.com")
    data = csv_bytes(
        LOAN_HEADER, [loan_row("P-1", "ok@example.com"), loan_row("P-2", "ok@example.com")]
    )
    batch = imports.upload(
        db.session, "loans", "loans.csv", data, user_id=admin.id, loan_terms=TERMS
    )
    assert batch.status == "ready" and batch.rows_total == 2
    assert batch.preview[0] == LOAN_HEADER and batch.preview[1][0] == "P-1"
    assert count(Loan) == 0  # a preview stores nothing

    imports.confirm(db.session, batch.id, user_id=admin.id)
    imports.confirm(db.session, batch.id, user_id=admin.id)
    assert db.session.scalar(select(func.count()).where(OutboxMessage.kind == "run_import")) == 1
    seen = []
    imports.execute(
        db.session,
        batch.id,
        loan_terms=TERMS,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert batch.status == "imported" and batch.rows_imported == 2 and batch.content is None
    assert seen == [(2, 2)]
    assert count(Loan) == 2
    assert (
        db.session.scalar(select(func.count()).where(OutboxMessage.kind == "score_imported_loans"))
        == 1
    )

    imports.execute(db.session, batch.id, loan_terms=TERMS)  # a retried job changes nothing
    same = imports.upload(
        db.session, "loans", "renamed.csv", data, user_id=admin.id, loan_terms=TERMS
    )
    assert same.id == batch.id and same.status == "imported"
    assert count(Loan) == 2


def test_a_batch_with_errors_cannot_be_confirmed():
    admin = UserFactory(role=Role.ADMIN)
    batch = imports.upload(
        db.session,
        "users",
        "u.csv",
        csv_bytes(USER_HEADER, [user_row("bad")]),
        user_id=admin.id,
        loan_terms=TERMS,
    )
    assert batch.status == "invalid" and batch.error_count == 1 and batch.content is None
    with pytest.raises(DomainError):
        imports.confirm(db.session, batch.id, user_id=admin.id)


def test_job_finds_the_file_invalid_when_the_database_changed_since_the_preview():
    admin = UserFactory(role=Role.ADMIN)
    borrower = UserFactory(role=Role.BORROWER, email="ok@example.com")
    data = csv_bytes(LOAN_HEADER, [loan_row("P-1", "ok@example.com")])
    batch = imports.upload(db.session, "loans", "l.csv", data, user_id=admin.id, loan_terms=TERMS)
    imports.confirm(db.session, batch.id, user_id=admin.id)
    borrower.is_active = False
    db.session.flush()
    imports.execute(db.session, batch.id, loan_terms=TERMS)
    assert batch.status == "invalid"
    assert batch.errors[0]["message"] == "this borrower is suspended"
    assert count(Loan) == 0


def test_cli_imports_users_then_loans_and_reports_errors(app, tmp_path: Path):
    runner = app.test_cli_runner()
    users = tmp_path / "users.csv"
    users.write_bytes(csv_bytes(USER_HEADER, [user_row("cli@example.com")]))
    result = runner.invoke(args=["import", "users", str(users)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 users from users.csv" in result.output

    loans = tmp_path / "loans.csv"
    loans.write_bytes(
        csv_bytes(
            LOAN_HEADER,
            [loan_row("C-1", "cli@example.com"), loan_row("C-2", "cli@example.com", amount="-1")],
        )
    )
    result = runner.invoke(args=["import", "loans", str(loans)])
    assert result.exit_code == 1
    assert "row 3, amount: must not be negative (value '-1')" in result.output
    assert "1 problems; nothing was imported." in result.output
    assert count(Loan) == 0

    loans.write_bytes(csv_bytes(LOAN_HEADER, [loan_row("C-1", "cli@example.com")]))
    assert runner.invoke(args=["import", "loans", str(loans)]).exit_code == 0
    result = runner.invoke(args=["import", "loans", str(loans)])
    assert "was already imported" in result.output
    assert count(Loan) == 1
    assert count(ImportBatch) == 2  # users and the good loans file; the bad one left no trace


def test_every_format_has_sql_safe_column_names():
    for kind in imports.KINDS:
        for column in imports.format_for(kind).columns:
            assert column.name.isidentifier() and column.name.islower()
    assert formats.literal("it's") == "'it''s'"


def test_imported_outcomes_join_the_training_data():
    load("outcomes", csv_bytes(OUTCOME_HEADER, [outcome_row("H-1", "1"), outcome_row("H-2", "0")]))
    rows, outcomes = risk_models.training_extras(db.session)
    assert outcomes == [1, 0]
    assert rows[0]["purpose"] == "credit_card" and rows[0]["credit_score"] == 720


def test_the_sample_files_in_seeds_import_cleanly():
    folder = Path(__file__).resolve().parents[2] / "seeds" / "csv"
    for kind in ("users", "loans", "outcomes"):
        report = load(kind, (folder / f"{kind}.csv").read_bytes())
        assert report.ok, (kind, report.errors)
        assert report.rows_imported >= 2


def test_staging_tables_left_by_interrupted_imports_are_cleared_later(app):
    """A staging table is committed at once (a second connection checks it), so a crash or a
    rolled-back caller can leave one behind: the next import drops those older than an hour."""
    old = int(time.time()) - staging.STALE_AFTER_SECONDS - 60
    fresh = int(time.time())
    engine = db.session.get_bind().engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as side:
        side.execute(text(f"CREATE UNLOGGED TABLE import_stage_{old}_deadbeef (x int)"))
        side.execute(text(f"CREATE UNLOGGED TABLE import_stage_{fresh}_cafef00d (x int)"))
    check("users", csv_bytes(USER_HEADER, [user_row("a@example.com")]))
    with engine.connect() as other:
        names = set(
            other.scalars(
                text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'import_stage_%'")
            )
        )
    assert f"import_stage_{old}_deadbeef" not in names
    assert f"import_stage_{fresh}_cafef00d" in names
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as side:
        side.execute(text(f"DROP TABLE import_stage_{fresh}_cafef00d"))


def test_the_form_the_api_and_imports_share_one_table_of_limits():
    """A value the web form refuses is refused by the API schema and the import, and back."""
    from app.blueprints.api.schemas import ApplicationSchema
    from app.models import APPLICATION_LIMITS

    schema_fields = ApplicationSchema().fields
    loans = imports.format_for("loans", TERMS)
    for name, (low, high) in APPLICATION_LIMITS.items():
        assert (loans.by_name[name].low or 0, loans.by_name[name].high) == (low, high)
        field = schema_fields[name]
        bounds = (getattr(field, "low", None), getattr(field, "high", None))
        ranges = [v for v in field.validators if hasattr(v, "min")]
        assert bounds[1] == high or (ranges and (ranges[0].min, ranges[0].max) == (low, high))
