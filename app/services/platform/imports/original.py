"""The original design's loans.csv, read as ours.

Its header is `borrower_email, amount, interest_rate, term_months, purpose, risk_grade`: a loan
another lender already priced, with none of the credit facts our model decides on. Such a file
is rewritten, row for row, into our loans format before it is checked, so every rule applies
as to any import:

* each row becomes a submitted application, scored by our model like any other (the quoted
  rate and grade are kept beside ours, `quoted_rate` / `quoted_grade`, never used to price);
* the credit facts come from the borrower's profile where it has them (income, credit score)
  and otherwise are the medians of LendingClub's approved applications (`typical_facts`), and the
  application's description says which were assumed;
* its key is a digest of the row and its place in the file, so importing the file again adds
  nothing.

Nothing is funded and the ledger is untouched: an imported application waits for its score.
"""

import csv
import hashlib
import io
from decimal import Decimal
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CREDIT_FACTS, User
from app.services.lending import typical_facts

HEADER = ("borrower_email", "amount", "interest_rate", "term_months", "purpose", "risk_grade")
WORDS = {"annual_income": "income", "credit_score": "credit score"}  # as the description says them
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
    facts, assumed = typical_facts.credit_facts(income, score)
    named = [WORDS[name] for name in assumed if name in WORDS]
    described = ", ".join([*named, ASSUMED_ALWAYS])
    return [
        f"Imported from a partner's priced loan file; assumed at typical values: {described}.",
        *(_cell(facts[name]) for name in CREDIT_FACTS),
    ]


def _cell(value) -> str:
    return (
        f"{value:.2f}"
        if isinstance(value, Decimal) and value.as_tuple().exponent == -2
        else str(value)
    )
