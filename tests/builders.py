"""Build money scenarios through the real services (never by writing ledger rows)."""

import itertools
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from app.extensions import db
from app.models import (
    Document,
    DocumentKind,
    LoanPurpose,
    Provider,
    Role,
    VerificationStatus,
)
from app.services.lending import investing, issuance, origination
from app.services.lending.origination import Offer
from app.services.money import cash, ledger
from app.services.policy import LendingPolicy
from tests.factories import CompleteUserFactory, UserFactory

D = Decimal
_keys = itertools.count()
# Golden cases hold one lender's $9,500 note; the per-loan cap has tests of its own.
UNCAPPED = LendingPolicy(max_investment_per_loan=D("1000000.00"))
CREDIT_FACTS = {
    "annual_income": D("72000.00"),
    "monthly_debt": D("900.00"),
    "credit_score": 712,
    "credit_history_months": 120,
    "revolving_balance": D("8000.00"),
    "revolving_utilization": D("42.000"),
    "inquiries_6m": 1,
    "delinquencies_2y": 0,
    "public_records": 0,
}


def key() -> str:
    return f"k-{next(_keys)}-{uuid.uuid4().hex[:8]}"


def lender(cash_amount: Decimal | None = None):
    user = UserFactory(role=Role.LENDER)
    if cash_amount:
        cash.deposit(
            db.session, user.id, cash_amount, provider=Provider.SIMULATED, idempotency_key=key()
        )
    return user


def verified_borrower(**fields):
    """A borrower whose identity and income an admin has verified (approval requires both)."""
    borrower = CompleteUserFactory(
        role=Role.BORROWER,
        identity_status=VerificationStatus.VERIFIED,
        identity_verified_at=datetime.now(UTC),
        **fields,
    )
    for kind in (DocumentKind.IDENTITY, DocumentKind.INCOME):
        db.session.add(
            Document(
                user_id=borrower.id,
                kind=kind,
                original_filename=f"{kind.value}.pdf",
                stored_name=f"{uuid.uuid4().hex}.pdf",
                content_type="application/pdf",
                size_bytes=1024,
                sha256="0" * 64,
                status=VerificationStatus.VERIFIED,
            )
        )
    db.session.flush()
    return borrower


def listed_loan(
    amount="10000.00", rate="10.99", term=36, fee_rate="5", *, now: datetime | None = None
):
    borrower = CompleteUserFactory(role=Role.BORROWER)
    loan = origination.create_application(
        db.session,
        borrower.id,
        amount=D(amount),
        term_months=term,
        purpose=LoanPurpose.DEBT_CONSOLIDATION,
        credit_facts=dict(CREDIT_FACTS),
    )
    origination.make_offer(db.session, loan, Offer("B3", D(rate), D(fee_rate), ["test offer"]))
    origination.accept_offer(db.session, loan)
    origination.list_loan(db.session, loan, now=now or datetime.now(UTC))
    db.session.flush()
    return loan


def issued_loan(
    note_amounts,
    *,
    amount=None,
    rate="10.99",
    term=36,
    fee_rate="5",
    issued_on=date(2024, 1, 15),
    lenders=None,
):
    """A loan funded by one note per amount (each from its own lender unless given), issued."""
    total = sum(D(a) for a in note_amounts)
    listed_at = datetime.combine(issued_on, datetime.min.time(), tzinfo=UTC)
    loan = listed_loan(str(amount or total), rate, term, fee_rate, now=listed_at)
    notes = []
    for index, note_amount in enumerate(note_amounts):
        owner = lenders[index] if lenders else lender(D(note_amount))
        notes.append(
            investing.invest(
                db.session,
                lender_id=owner.id,
                loan_id=loan.id,
                amount=D(note_amount),
                idempotency_key=key(),
                now=listed_at,
                policy=UNCAPPED,
            )
        )
    issuance.issue_loan(db.session, loan.id, today=issued_on)
    db.session.flush()
    return loan, notes


def assert_ledger_balances():
    problems = ledger.verify(db.session)
    assert problems == [], problems
