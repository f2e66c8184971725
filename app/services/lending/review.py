"""What admins decide: applications (with a second approval for large loans), documents,
identity, suspension and roles. Every decision is recorded with who made it and why."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Document,
    DocumentKind,
    Loan,
    LoanApproval,
    LoanStatus,
    Role,
    User,
    VerificationStatus,
)
from app.services.accounts import accounts, verification
from app.services.errors import DomainError, ValidationFailed
from app.services.lending import adverse_action, origination
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy


def approval_queue(session: Session) -> list[Loan]:
    """Accepted offers waiting for approval, oldest first."""
    return list(
        session.scalars(
            select(Loan).where(Loan.status == LoanStatus.PENDING_APPROVAL).order_by(Loan.updated_at)
        )
    )


def document_queue(session: Session) -> list[tuple[Document, User]]:
    """Documents waiting for review with their owners, oldest first."""
    return session.execute(
        select(Document, User)
        .join(User, User.id == Document.user_id)
        .where(Document.status == VerificationStatus.PENDING)
        .order_by(Document.created_at)
    ).all()


def decisions(session: Session, loan_id: int) -> list[tuple[LoanApproval, User]]:
    """Each admin's approve/decline on an application so far, with the admin."""
    return session.execute(
        select(LoanApproval, User)
        .join(User, User.id == LoanApproval.admin_id)
        .where(LoanApproval.loan_id == loan_id)
        .order_by(LoanApproval.id)
    ).all()


def approve_application(
    session: Session,
    loan_id: int,
    admin_id: int,
    *,
    reason: str | None = None,
    override_reason: str | None = None,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> str:
    """Approve; the loan lists once it has enough approvals. Returns "listed" or "waiting".

    A borrower whose identity or income is not verified yet is approved only with a reason for
    overriding that (`override_reason`, logged), and by two different admins.
    """
    loan = _pending(session, loan_id)
    gaps = verification.listing_gaps(session, session.get(User, loan.borrower_id))
    if gaps and not (override_reason and override_reason.strip()):
        raise ValidationFailed({"override_reason": _unverified(gaps)})
    _record(session, loan, admin_id, True, reason)
    if gaps:
        activity.record(
            session,
            "loan.verification_overridden",
            user_id=admin_id,
            entity=loan,
            missing=gaps,
            reason=override_reason.strip(),
        )
    approvals = session.scalar(
        select(func.count())
        .select_from(LoanApproval)
        .where(LoanApproval.loan_id == loan.id, LoanApproval.approved.is_(True))
    )
    needed = approvals_needed(gaps, loan.amount, policy)
    if approvals < needed:
        activity.record(
            session,
            "loan.approval_recorded",
            user_id=admin_id,
            entity=loan,
            approvals=approvals,
            needed=needed,
        )
        return "waiting"
    origination.list_loan(session, loan, now=now, policy=policy, admin_id=admin_id)
    notifications.notify(
        session,
        loan.borrower_id,
        "loan.listed",
        "Your loan is listed",
        f"Lenders can now fund loan #{loan.id} until {loan.funding_deadline:%d %b %Y}.",
        link=("borrower.application_show", {"loan_id": loan.id}),
        dedupe_key=f"listed-{loan.id}",
    )
    return "listed"


def approvals_needed(unverified: list[str], amount: Decimal, policy: LendingPolicy) -> int:
    """Two different admins for a large loan or a borrower not yet verified; one otherwise."""
    return 2 if unverified or policy.needs_second_approval(amount) else 1


def _unverified(gaps: list[str]) -> str:
    missing = " and ".join(gaps)
    return (
        f"The borrower's {missing} {'is' if len(gaps) == 1 else 'are'} not verified yet. Verify "
        "the documents first, or give the reason to approve anyway: two admins must then approve."
    )


def decline_application(session: Session, loan_id: int, admin_id: int, reasons: list[str]) -> Loan:
    """Decline with the principal reasons (shown to the borrower)."""
    reasons = [r.strip() for r in reasons if r and r.strip()]
    if not reasons:
        raise ValidationFailed({"reason": "Give the principal reasons for the decline."})
    loan = _pending(session, loan_id)
    _record(session, loan, admin_id, False, "; ".join(reasons))
    origination.decline(session, loan, reasons)
    adverse_action.issue(session, loan, "decline", reasons)
    return loan


def review_document(
    session: Session, document_id: int, admin_id: int, *, verified: bool, reason: str | None = None
) -> Document:
    """Mark a document verified, or rejected with a reason the owner is told."""
    document = session.get(Document, document_id)
    if document is None:
        raise DomainError(f"No document #{document_id}.")
    if not verified and not (reason or "").strip():
        raise ValidationFailed({"reason": "Say why the document is rejected."})
    document.status = VerificationStatus.VERIFIED if verified else VerificationStatus.REJECTED
    document.rejection_reason = None if verified else reason.strip()
    document.reviewed_by_id, document.reviewed_at = admin_id, datetime.now(UTC)
    outcome = "verified" if verified else f"rejected: {document.rejection_reason}"
    notifications.notify(
        session,
        document.user_id,
        f"document.{document.status.value}",
        f"Your {document.kind.value} document was {document.status.value}",
        f"{document.original_filename}: {outcome}.",
        link=("auth.document_index", {}),
        dedupe_key=f"document-{document.id}-{document.status.value}",
    )
    activity.record(
        session,
        f"document.{document.status.value}",
        user_id=admin_id,
        entity=document,
        owner_id=document.user_id,
        reason=reason,
    )
    session.flush()
    return document


def verify_identity(session: Session, user_id: int, admin_id: int) -> User:
    """Mark a person's identity verified; needs a verified identity document on file."""
    user = _user(session, user_id)
    has_document = session.scalar(
        select(Document.id)
        .where(
            Document.user_id == user.id,
            Document.kind == DocumentKind.IDENTITY,
            Document.status == VerificationStatus.VERIFIED,
        )
        .limit(1)
    )
    if has_document is None:
        raise DomainError("Verify one of their identity documents first.")
    user.identity_status = VerificationStatus.VERIFIED
    user.identity_verified_at = datetime.now(UTC)
    notifications.notify(
        session,
        user.id,
        "identity.verified",
        "Your identity is verified",
        "Thank you. Your identity is verified.",
        dedupe_key=f"identity-{user.id}",
    )
    activity.record(session, "user.identity_verified", user_id=admin_id, entity=user)
    session.flush()
    return user


def suspend(session: Session, user_id: int, admin_id: int, reason: str) -> User:
    """Stop someone signing in or investing; every session of theirs ends now."""
    if not (reason or "").strip():
        raise ValidationFailed({"reason": "Say why the account is suspended."})
    user = _user(session, user_id)
    if user.id == admin_id:
        raise DomainError("You cannot suspend yourself.")
    user.is_active, user.suspended_at, user.suspension_reason = (
        False,
        datetime.now(UTC),
        reason.strip(),
    )
    ended = accounts.end_all_sessions(session, user.id)
    activity.record(
        session,
        "user.suspended",
        user_id=admin_id,
        entity=user,
        reason=reason,
        sessions_ended=ended,
    )
    session.flush()
    return user


def reactivate(session: Session, user_id: int, admin_id: int) -> User:
    """Let a suspended person back in."""
    user = _user(session, user_id)
    user.is_active, user.suspended_at, user.suspension_reason = True, None, None
    activity.record(session, "user.reactivated", user_id=admin_id, entity=user)
    session.flush()
    return user


def change_role(session: Session, user_id: int, role: Role, admin_id: int) -> User:
    """Give someone another role (never leaving the platform without an admin)."""
    user = _user(session, user_id)
    if (
        user.role is Role.ADMIN
        and role is not Role.ADMIN
        and session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN, User.is_active.is_(True))
        )
        <= 1
    ):
        raise DomainError("The platform needs at least one active admin.")
    before, user.role = user.role, role
    accounts.end_all_sessions(session, user.id)  # new rights start with a new sign-in
    activity.record(
        session,
        "user.role_changed",
        user_id=admin_id,
        entity=user,
        before=before.value,
        after=role.value,
    )
    session.flush()
    return user


def _pending(session: Session, loan_id: int) -> Loan:
    loan = session.get(Loan, loan_id, with_for_update=True, populate_existing=True)
    if loan is None:
        raise DomainError(f"No loan #{loan_id}.")
    if loan.status is not LoanStatus.PENDING_APPROVAL:
        raise DomainError(
            f"Loan #{loan.id} is {loan.status.value.replace('_', ' ')}, not waiting for approval."
        )
    return loan


def _record(
    session: Session, loan: Loan, admin_id: int, approved: bool, reason: str | None
) -> None:
    if session.scalar(
        select(LoanApproval.id).where(
            LoanApproval.loan_id == loan.id, LoanApproval.admin_id == admin_id
        )
    ):
        raise DomainError("You already decided on this application; another admin must approve it.")
    session.add(LoanApproval(loan_id=loan.id, admin_id=admin_id, approved=approved, reason=reason))
    session.flush()


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise DomainError(f"No user #{user_id}.")
    return user
