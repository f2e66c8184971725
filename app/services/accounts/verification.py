"""What stands between a borrower and a listing: a complete profile, a verified identity and a
verified income document. The borrower's checklist and the admin's approval read one list."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Document, DocumentKind, User, VerificationStatus


@dataclass(frozen=True)
class Step:
    name: str  # the step, as the borrower reads it
    done: bool
    todo: str  # what to do, or what happens next, while it is not done
    by_us: bool = False  # an admin's step (the ones approval requires), not the borrower's
    page: str | None = None  # the endpoint where the borrower takes the step


def checklist(session: Session, user: User) -> list[Step]:
    """The steps to a listed loan, in the order a borrower takes them."""
    sent = _documents(session, user.id)
    income = sent[DocumentKind.INCOME]
    return [
        Step(
            "Profile complete",
            user.profile_complete,
            "Add your phone, date of birth and address.",
            page="auth.profile_show",
        ),
        Step(
            "Identity document sent",
            bool(sent[DocumentKind.IDENTITY] - {VerificationStatus.REJECTED}),
            "Upload a passport, driving licence or state ID card.",
            page="auth.document_index",
        ),
        Step(
            "Income document sent",
            bool(income - {VerificationStatus.REJECTED}),
            "Upload a recent payslip, tax return or bank statement.",
            page="auth.document_index",
        ),
        Step(
            "Identity verified",
            user.identity_verified_at is not None,
            "We check your identity document, usually within a working day.",
            by_us=True,
        ),
        Step(
            "Income verified",
            VerificationStatus.VERIFIED in income,
            "We check your income document, usually within a working day.",
            by_us=True,
        ),
    ]


def listing_gaps(session: Session, user: User) -> list[str]:
    """What is not verified yet ("identity", "income") for a loan of theirs to list."""
    steps = checklist(session, user)
    return [
        step.name.removesuffix(" verified").lower()
        for step in steps
        if step.by_us and not step.done
    ]


def _documents(session: Session, user_id: int) -> dict[DocumentKind, set[VerificationStatus]]:
    """The statuses of each kind of document the person has sent."""
    found = {kind: set() for kind in DocumentKind}
    rows = session.execute(
        select(Document.kind, Document.status).where(Document.user_id == user_id)
    )
    for kind, status in rows:
        found[kind].add(status)
    return found
