"""The original design's loans.csv, read as ours.

Its header is `borrower_email, amount, interest_rate, term_months, purpose, risk_grade`: a loan
another lender already priced, with none of the credit facts our model decides on. Such a file
is rewritten, row for row, into our loans format before it is checked, so every rule applies
as to any import:

* each row becomes a submitted application, scored by our model like any other (the quoted
  rate and grade are kept beside ours, `quoted_rate` / `quoted_grade`, never used to price);
* the credit facts come from the borrower's profile where it has them (income, credit score)
  and otherwise are the medians of LendingClub's approved applications (`TYPICAL`), and the
  application's description says which were assumed;
* its key is a digest of the row and its place in the file, so importing the file again adds
  nothing.

Nothing is funded and the ledger is untouched: an imported application waits for its score.
"""

import csv
import hashlib
import io
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CREDIT_FACTS, User

HEADER = ("borrower_email", "amount", "interest_rate", "term_months", "purpose", "risk_grade")
# Medians of LendingClub's 6,158 approved 2007-2010 applications (app/risk/data), the same
# conversion the model was trained on; tests recompute them from the file.
TYPICAL = {
    "annual_income": Decimal("56400.00"),
    "debt_to_income": Decimal("0.125"),  # monthly debt = income x this / 12
    "credit_score": 712,
    "credit_history_months": 139,
    "revolving_balance": Decimal("8826.50"),
    "revolving_utilization": Decimal("44.7"),
    "inquiries_6m": 1,
    "delinquencies_2y": 0,
    "public_records": 0,
}
ASSUMED_ALWAYS = "monthly debt, credit history, revolving balance and use, recent inquiries, "
ASSUMED_ALWAYS += "delinquencies and public records"


def translated(session: Session, stream: BinaryIO) -> BinaryIO:
    """`stream` itself, or, when it is the original design's loans.csv, the same rows in ours."""
    data = stream.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return io.BytesIO(data)  # the staging step reports the bad bytes
    lines = list(csv.reader(io.StringIO(text, newline="")))
    header = [name.strip().lower() for name in lines[0]] if lines else []
    if sorted(header) != sorted(HEADER):
        return io.BytesIO(data)
    people = _profiles(session, lines[1:], header.index("borrower_email"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", *header, "description", *CREDIT_FACTS])
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(header):
            writer.writerow(cells)  # ragged: reported by the check as it is
            continue
        row = dict(zip(header, cells, strict=True))
        writer.writerow([_key(cells, number), *cells, *_facts(people.get(_email(row)))])
    return io.BytesIO(out.getvalue().encode())


def _email(row: dict) -> str:
    return row["borrower_email"].strip().lower()


def _profiles(session: Session, rows: list[list[str]], column: int) -> dict:
    emails = {cells[column].strip().lower() for cells in rows if len(cells) > column}
    found = session.execute(
        select(User.email, User.annual_income, User.credit_score).where(User.email.in_(emails))
    ).all()
    return {email: (income, score) for email, income, score in found}


def _key(cells: list[str], number: int) -> str:
    digest = hashlib.sha256("\x1f".join([*cells, str(number)]).encode()).hexdigest()
    return f"orig-{digest[:40]}"


def _facts(profile: tuple | None) -> list[str]:
    """The description saying what was assumed, then the credit facts in `CREDIT_FACTS` order."""
    income, score = profile or (None, None)
    assumed = [] if income else ["income"]
    assumed += [] if score else ["credit score"]
    income = income or TYPICAL["annual_income"]
    monthly_debt = (income * TYPICAL["debt_to_income"] / 12).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )
    described = ", ".join([*assumed, ASSUMED_ALWAYS])
    return [
        f"Imported from a partner's priced loan file; assumed at typical values: {described}.",
        f"{income:.2f}",
        f"{monthly_debt:.2f}",
        str(score or TYPICAL["credit_score"]),
        str(TYPICAL["credit_history_months"]),
        f"{TYPICAL['revolving_balance']:.2f}",
        str(TYPICAL["revolving_utilization"]),
        str(TYPICAL["inquiries_6m"]),
        str(TYPICAL["delinquencies_2y"]),
        str(TYPICAL["public_records"]),
    ]
