"""Statements on the web: listed under Documents, one page each, the PDF (rendered by poppler's
pdftoppm to a non-blank image) and the CSV (parsed back to the stored figures); only the owner
may read them."""

import csv
import io
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import AccountStatement, Role, StatementKind
from app.services.statements import issue, periods
from tests.factories import UserFactory
from tests.helpers import HX
from tests.statement_book import small_book


@pytest.fixture()
def statement():
    me, _, _ = small_book()
    issue.issue_month(db.session, periods.month(2025, 4))
    found = db.session.scalars(
        select(AccountStatement).where(
            AccountStatement.user_id == me.id, AccountStatement.kind == StatementKind.LENDER_MONTH
        )
    ).one()
    return me, found


def test_the_owner_finds_the_statement_under_documents_and_reads_it(client, login, statement):
    me, found = statement
    login(me)
    documents = client.get("/account/documents").get_data(as_text=True)
    assert "/account/statements" in documents
    listed = client.get("/account/statements", headers=HX)
    assert listed.status_code == 200
    assert "Monthly statement, April 2025" in listed.get_data(as_text=True)
    page = client.get(f"/account/statements/{found.id}").get_data(as_text=True)
    for label in ("Opening cash", "Interest received", "Closing cash", "Notes outstanding"):
        assert label in page
    assert found.figures["closing_cash"] in page


def test_the_csv_parses_back_to_the_figures(client, login, statement):
    me, found = statement
    login(me)
    response = client.get(f"/account/statements/{found.id}.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {row["item"]: row["amount"] for row in rows} == found.figures
    amounts = {row["item"]: Decimal(row["amount"]) for row in rows}
    assert amounts["interest"] > 0 and amounts["principal"] > 0


def test_the_pdf_renders_to_a_page_with_ink_on_it(client, login, statement, tmp_path):
    me, found = statement
    login(me)
    response = client.get(f"/account/statements/{found.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    (tmp_path / "s.pdf").write_bytes(response.data)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "50",
            "-singlefile",
            str(tmp_path / "s.pdf"),
            str(tmp_path / "s"),
        ],
        check=True,
    )
    image = Image.open(tmp_path / "s.png").convert("L")
    dark = sum(image.histogram()[:128])
    assert image.size[0] > 300 and dark > 500  # text drawn, not a blank page
    db.session.refresh(found)
    assert found.pdf == response.data  # kept: the next download does not draw it again


def test_anyone_else_gets_not_found(client, login, statement):
    _, found = statement
    login(UserFactory(role=Role.LENDER))
    for suffix in ("", ".pdf", ".csv"):
        assert client.get(f"/account/statements/{found.id}{suffix}").status_code == 404
    assert "April 2025" not in client.get("/account/statements").get_data(as_text=True)
    assert client.get("/account/statements/999999").status_code == 404


def test_a_borrower_reads_their_loan_statement(client, login):
    _, _, loan = small_book()
    issue.issue_month(db.session, periods.month(2025, 4))
    mine = db.session.scalars(
        select(AccountStatement).where(AccountStatement.user_id == loan.borrower_id)
    ).one()
    login(loan.borrower)
    page = client.get(f"/account/statements/{mine.id}").get_data(as_text=True)
    assert f"Loan #{loan.id}" in page and "Next payment due" in page
    assert mine.period_start == date(2025, 4, 1)


def test_signed_out_people_are_sent_to_sign_in(client, statement):
    _, found = statement
    for url in ("/account/statements", f"/account/statements/{found.id}.pdf"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
