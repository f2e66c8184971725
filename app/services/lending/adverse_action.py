"""Adverse-action notices (ECOA / Regulation B, 12 CFR 1002.9) and the human review of them.

A decline or a counter-offer is an adverse action: the applicant is owed, in writing, the
action taken, its principal reasons (at most four, most important first), the creditor's name
and address, the ECOA notice and their right to a statement of reasons. We add the right to
ask a person to review an automated decision. The notice is stored word for word as sent.
"""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AdverseActionNotice, Loan, LoanStatus, User
from app.risk import grading
from app.services.errors import DomainError, ValidationFailed
from app.services.lending import origination
from app.services.lending.origination import Offer
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy

PRINCIPAL_REASONS = 4
OUTCOMES = ("upheld", "overturned")
ECOA_NOTICE = (
    "The federal Equal Credit Opportunity Act prohibits creditors from discriminating against "
    "credit applicants on the basis of race, color, religion, national origin, sex, marital "
    "status, age (provided the applicant has the capacity to enter into a binding contract); "
    "because all or part of the applicant's income derives from any public assistance program; "
    "or because the applicant has in good faith exercised any right under the Consumer Credit "
    "Protection Act. The Federal agency that administers compliance with this law concerning "
    "this creditor is the Consumer Financial Protection Bureau, 1700 G Street NW, Washington, "
    "DC 20552."
)


def issue(
    session: Session,
    loan: Loan,
    kind: str,
    reasons: list[str],
    *,
    figures: dict | None = None,
    model_version: str | None = None,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> AdverseActionNotice:
    """Store the notice for `loan`'s decline or counter-offer and send it to the applicant."""
    if not reasons:
        raise DomainError("An adverse action needs its principal reasons.")
    reasons = reasons[:PRINCIPAL_REASONS]
    action = _action(loan, kind)
    borrower = session.get(User, loan.borrower_id)
    notice = AdverseActionNotice(
        loan_id=loan.id,
        user_id=loan.borrower_id,
        kind=kind,
        action=action,
        reasons=reasons,
        figures=figures,
        creditor=policy.creditor_name,
        model_version=model_version,
        created_at=datetime.now(UTC),
        text="",
    )
    notice.text = notice_text(notice, loan, borrower.full_name, policy)
    session.add(notice)
    session.flush()
    countered = kind == "counter_offer"
    notifications.notify(
        session,
        loan.borrower_id,
        "loan.counter_offered" if countered else "loan.declined",
        "About your application: a counter-offer"
        if countered
        else "We can't offer you a loan right now",
        notice.text,
        link=("borrower.application_show", {"loan_id": loan.id}),
        dedupe_key=f"notice-{loan.id}",
    )
    return notice


def notice_text(
    notice: AdverseActionNotice, loan: Loan, applicant: str, policy: LendingPolicy
) -> str:
    """The notice, word for word (plain text: the page, the email and the download say this)."""
    reasons = "\n".join(f"  {n}. {reason}" for n, reason in enumerate(notice.reasons, 1))
    automated = (
        f"This decision was made with an automated credit model (version {notice.model_version}). "
        if notice.model_version
        else ""
    )
    return f"""NOTICE OF ACTION TAKEN ON YOUR CREDIT APPLICATION

{policy.creditor_name}
{policy.creditor_address}

Date: {notice.created_at:%d %B %Y}
Applicant: {applicant}
Application #{loan.id}: {_asked(loan)}

ACTION TAKEN
{notice.action}

PRINCIPAL REASONS FOR THIS ACTION
{reasons}

YOUR RIGHT TO A STATEMENT OF REASONS
These are the principal reasons for our decision. You may ask for a further statement of the
specific reasons within 60 days of this notice by writing to us at the address above; we will
answer within 30 days of receiving your request.

YOUR RIGHT TO A HUMAN REVIEW
{automated}You may ask for a person at {policy.creditor_name} to review it: choose "Ask for a
person to review this decision" on your application's page. A reviewer will look at your
application and write to you with the outcome and the reason.

INFORMATION WE USED
We used the income, debts and credit history you gave us in your application.

EQUAL CREDIT OPPORTUNITY
{ECOA_NOTICE}
"""


def _asked(loan: Loan) -> str:
    """What the applicant asked for (a counter-offer changes the loan's own amount and term)."""
    amount = loan.requested_amount or loan.amount
    return f"${amount:,.2f} over {loan.requested_term_months or loan.term_months} months"


def _action(loan: Loan, kind: str) -> str:
    if kind == "counter_offer":
        return (
            f"We cannot offer the {_asked(loan)} you asked for. We can offer you "
            f"${loan.amount:,.2f} over {loan.term_months} months at "
            f"{loan.interest_rate:.2f}% instead; it is yours to accept or decline."
        )
    return f"We cannot offer you the loan of {_asked(loan)} you asked for."


def notice_for(session: Session, loan_id: int) -> AdverseActionNotice | None:
    return session.scalar(select(AdverseActionNotice).where(AdverseActionNotice.loan_id == loan_id))


def request_review(
    session: Session, loan_id: int, user_id: int, request: str | None
) -> AdverseActionNotice:
    """The applicant asks a person to review the decision: it joins the admins' queue."""
    notice = notice_for(session, loan_id)
    if notice is None or notice.user_id != user_id:
        raise DomainError("There is no decision to review on this application.")
    if notice.review_requested_at is not None:
        raise DomainError("You have already asked for a review of this decision.")
    notice.review_requested_at = datetime.now(UTC)
    notice.review_request = (request or "").strip() or None
    activity.record(session, "notice.review_requested", user_id=user_id, entity=notice)
    notifications.notify_admins(
        session,
        "notice.review_requested",
        f"Application #{loan_id}: the applicant asks for a human review",
        notice.review_request or "No note given.",
        link=("admin.notice_reviews", {}),
        dedupe_key=f"review-requested-{notice.id}",
        email=False,
    )
    session.flush()
    return notice


def review_queue(session: Session) -> list[tuple[AdverseActionNotice, Loan]]:
    """Reviews asked for and not yet decided, oldest first."""
    rows = session.execute(
        select(AdverseActionNotice, Loan)
        .join(Loan, Loan.id == AdverseActionNotice.loan_id)
        .where(
            AdverseActionNotice.review_requested_at.is_not(None),
            AdverseActionNotice.reviewed_at.is_(None),
        )
        .order_by(AdverseActionNotice.review_requested_at)
    )
    return [tuple(row) for row in rows]


def decide_review(
    session: Session,
    notice_id: int,
    admin_id: int,
    outcome: str,
    reason: str,
    grade: str | None = None,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> AdverseActionNotice:
    """A person's decision on a review: the decision stands (upheld), or it is overturned and
    the loan asked for is offered at the grade the reviewer sets. Logged and told."""
    notice = session.get(AdverseActionNotice, notice_id, with_for_update=True)
    if notice is None or notice.review_requested_at is None:
        raise DomainError("No review was asked for on this notice.")
    if notice.reviewed_at is not None:
        raise DomainError("This review has already been decided.")
    _check_decision(outcome, reason, grade)
    loan = session.get(Loan, notice.loan_id, with_for_update=True)
    if outcome == "overturned":
        _offer_as_asked(session, loan, grade, reason.strip(), policy)
    notice.reviewed_at = datetime.now(UTC)
    notice.reviewer_id = admin_id
    notice.review_outcome = outcome
    notice.review_reason = reason.strip()
    activity.record(
        session, "notice.reviewed", user_id=admin_id, entity=notice, outcome=outcome,
        reason=notice.review_reason, grade=grade,
    )  # fmt: skip
    notifications.notify(
        session,
        notice.user_id,
        "notice.reviewed",
        "A person reviewed the decision on your application",
        _review_message(notice, loan),
        link=("borrower.application_show", {"loan_id": loan.id}),
        dedupe_key=f"reviewed-{notice.id}",
    )
    session.flush()
    return notice


def _check_decision(outcome: str, reason: str, grade: str | None) -> None:
    errors = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = "Choose whether the decision stands or is overturned."
    if not (reason or "").strip():
        errors["reason"] = "Give the reason for your decision: the applicant reads it."
    if outcome == "overturned" and grade not in grading.SUB_GRADES:
        errors["grade"] = "Choose the grade to offer the loan at."
    if errors:
        raise ValidationFailed(errors)


def _offer_as_asked(session, loan: Loan, grade: str, reason: str, policy) -> None:
    """The amount and term asked for, offered at `grade`'s price."""
    if loan.status not in (LoanStatus.DECLINED, LoanStatus.OFFERED):
        raise DomainError(
            f"The application is {loan.status.value}: it can no longer be re-offered."
        )
    loan.amount = loan.requested_amount or loan.amount
    loan.term_months = loan.requested_term_months or loan.term_months
    rate = grading.rate_for_sub_grade(grade, loan.term_months)
    loan.status = LoanStatus.SUBMITTED  # the review re-opens the decision, then prices it
    offer = Offer(
        grade, rate, grading.origination_fee_percent(grade), [f"A person reviewed it: {reason}"]
    )
    origination.make_offer(session, loan, offer, policy)


def _review_message(notice: AdverseActionNotice, loan: Loan) -> str:
    if notice.review_outcome == "upheld":
        return f"The decision stands. The reviewer's reason: {notice.review_reason}"
    return (
        f"The decision is overturned: we offer you ${loan.amount:,.2f} over "
        f"{loan.term_months} months at {loan.interest_rate:.2f}%. The reviewer's reason: "
        f"{notice.review_reason}"
    )
