"""From application to listing: the offer, the borrower's answer, approval and listing."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from app.models import Loan, LoanPurpose, LoanStatus
from app.risk.predict import RiskScore
from app.services.errors import DomainError, ValidationFailed
from app.services.money import idempotency
from app.services.money.money import cents
from app.services.platform import activity, notifications, outbox
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import amortization


@dataclass(frozen=True)
class Offer:
    grade: str
    interest_rate: Decimal  # percent
    origination_fee_rate: Decimal  # percent of the amount, deducted from proceeds
    reasons: list[str]


def create_application(
    session: Session,
    borrower_id: int,
    *,
    amount: Decimal,
    term_months: int,
    purpose: LoanPurpose,
    credit_facts: dict,
    title: str | None = None,
    description: str | None = None,
    collateral_description: str | None = None,
) -> Loan:
    """Record a new application (status submitted, waiting for its risk score)."""
    loan = Loan(
        borrower_id=borrower_id,
        amount=amount,
        requested_amount=amount,
        term_months=term_months,
        requested_term_months=term_months,
        purpose=purpose,
        title=title,
        description=description,
        collateral_description=collateral_description,
        status=LoanStatus.SUBMITTED,
        **credit_facts,
    )
    session.add(loan)
    session.flush()
    activity.record(session, "loan.applied", user_id=borrower_id, entity=loan, amount=str(amount))
    session.flush()
    return loan


def submit_application(
    session: Session,
    borrower_id: int,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    idempotency_key: str | None = None,
    **application,
) -> Loan:
    """Record an application and queue its risk score (through the outbox, never inline).

    With a key, the same application sent again under it is the first one's loan (a client
    that heard no answer asks again safely); another application under it is refused.
    """
    if application["term_months"] not in policy.loan_terms:
        raise ValidationFailed({"term_months": "Choose one of the offered terms."})
    if idempotency_key is not None:
        request = {name: str(value) for name, value in application.items()}
        earlier = idempotency.claim(session, borrower_id, idempotency_key, "apply", request)
        if earlier is not None:
            return session.get(Loan, earlier.resource_id)
    loan = create_application(session, borrower_id, **application)
    outbox.add(
        session,
        "score_application",
        {"loan_id": loan.id},
        dedupe_key=f"score-{loan.id}",
        user_id=borrower_id,
    )
    if idempotency_key is not None:
        idempotency.complete(session, borrower_id, idempotency_key, "loan", loan.id)
    return loan


def make_offer(
    session: Session, loan: Loan, offer: Offer, policy: LendingPolicy = DEFAULT_POLICY
) -> Loan:
    """Price the application: rate, fee, APR and payment from the amortization service."""
    _require(loan, LoanStatus.SUBMITTED)
    fee = cents(loan.amount * offer.origination_fee_rate / 100)
    loan.risk_grade = offer.grade
    loan.interest_rate = offer.interest_rate
    loan.origination_fee_rate = offer.origination_fee_rate
    loan.origination_fee = fee
    loan.monthly_payment = amortization.level_payment(
        loan.amount, offer.interest_rate, loan.term_months, rounding=policy.payment_rounding
    )
    loan.apr = amortization.apr_with_fee(
        loan.amount, offer.interest_rate, loan.term_months, fee, rounding=policy.payment_rounding
    )
    loan.decision_reasons = offer.reasons
    loan.status = LoanStatus.OFFERED
    activity.record(
        session,
        "loan.offered",
        user_id=loan.borrower_id,
        entity=loan,
        grade=offer.grade,
        rate=str(offer.interest_rate),
    )
    session.flush()
    return loan


def decline(session: Session, loan: Loan, reasons: list[str]) -> Loan:
    """Decline with the principal reasons (never a bare no)."""
    if not reasons:
        raise DomainError("A decline needs its reasons.")
    _require(loan, LoanStatus.SUBMITTED, LoanStatus.PENDING_APPROVAL)
    loan.status = LoanStatus.DECLINED
    loan.decision_reasons = reasons
    activity.record(
        session, "loan.declined", user_id=loan.borrower_id, entity=loan, reasons=reasons
    )
    session.flush()
    return loan


EXAMPLE_RATE = Decimal("11.99")  # shown before the credit facts allow an estimate


@dataclass(frozen=True)
class PaymentPreview:
    """What a loan would cost, while the borrower is still filling in the form."""

    amount: Decimal
    term: int
    rate: Decimal
    estimate: RiskScore | None  # the risk estimate behind `rate`, when there is one
    payment: Decimal
    total_interest: Decimal
    first: list[amortization.InstallmentPlan]
    last: amortization.InstallmentPlan


def payment_preview(
    amount: Decimal,
    term: int,
    estimate: RiskScore | None,
    issue_on: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> PaymentPreview | None:
    """The schedule at the estimated rate (or an example rate); None for an amount or term
    that could not be applied for."""
    low, high = policy.loan_amounts
    if not low <= amount <= high or amount != cents(amount) or term not in policy.loan_terms:
        return None
    rate = estimate.interest_rate if estimate and estimate.approved else EXAMPLE_RATE
    plans = amortization.schedule_from_issue(
        amount, rate, term, issue_on, rounding=policy.payment_rounding
    )
    return PaymentPreview(
        amount=amount,
        term=term,
        rate=rate,
        estimate=estimate,
        payment=plans[0].payment,
        total_interest=amortization.total_interest(plans),
        first=plans[:3],
        last=plans[-1],
    )


@dataclass(frozen=True)
class OfferSummary:
    schedule: list[amortization.InstallmentPlan]
    net_amount: Decimal  # what the borrower receives: the amount less the origination fee
    total_interest: Decimal


def offer_summary(
    loan: Loan, issue_on: date, policy: LendingPolicy = DEFAULT_POLICY
) -> OfferSummary | None:
    """The offered terms while the offer stands (offered, awaiting approval or listed)."""
    if loan.interest_rate is None or loan.status not in (
        LoanStatus.OFFERED,
        LoanStatus.PENDING_APPROVAL,
        LoanStatus.LISTED,
    ):
        return None
    schedule = amortization.schedule_from_issue(
        loan.amount,
        loan.interest_rate,
        loan.term_months,
        issue_on,
        rounding=policy.payment_rounding,
    )
    return OfferSummary(
        schedule=schedule,
        net_amount=loan.amount - loan.origination_fee,
        total_interest=amortization.total_interest(schedule),
    )


OFFER_ACCEPTED = "Offer accepted. We'll verify your documents and list your loan for lenders."
WITHDRAWN = "Application withdrawn."


def accept_offer(session: Session, loan: Loan) -> Loan:
    """The borrower takes the offer; admins verify and approve next."""
    _require(loan, LoanStatus.OFFERED)
    loan.status = LoanStatus.PENDING_APPROVAL
    activity.record(session, "loan.offer_accepted", user_id=loan.borrower_id, entity=loan)
    _tell_borrower(session, loan, OFFER_ACCEPTED)
    return loan


def withdraw(session: Session, loan: Loan) -> Loan:
    """The borrower walks away before the loan lists."""
    _require(loan, LoanStatus.SUBMITTED, LoanStatus.OFFERED, LoanStatus.PENDING_APPROVAL)
    loan.status = LoanStatus.WITHDRAWN
    activity.record(session, "loan.withdrawn", user_id=loan.borrower_id, entity=loan)
    _tell_borrower(session, loan, WITHDRAWN)
    return loan


def _tell_borrower(session: Session, loan: Loan, message: str) -> None:
    session.flush()
    notifications.notify(
        session,
        loan.borrower_id,
        f"loan.{loan.status.value}",
        f"Loan #{loan.id}: {loan.status.value.replace('_', ' ')}",
        message,
        link=("borrower.application_show", {"loan_id": loan.id}),
    )


def list_loan(
    session: Session,
    loan: Loan,
    *,
    now: datetime | None = None,
    policy: LendingPolicy = DEFAULT_POLICY,
    admin_id: int | None = None,
) -> Loan:
    """Open an approved loan to investors until its funding deadline."""
    _require(loan, LoanStatus.PENDING_APPROVAL)
    now = now or datetime.now(UTC)
    loan.status = LoanStatus.LISTED
    loan.listed_at = now
    loan.funding_deadline = now + timedelta(days=policy.listing_days)
    activity.record(
        session,
        "loan.listed",
        user_id=admin_id,
        entity=loan,
        deadline=loan.funding_deadline.isoformat(),
    )
    outbox.add(session, "auto_invest_loan", {"loan_id": loan.id}, dedupe_key=f"auto-loan-{loan.id}")
    session.flush()
    return loan


def _require(loan: Loan, *statuses: LoanStatus) -> None:
    if loan.status not in statuses:
        raise DomainError(
            f"Loan #{loan.id} is {loan.status.value.replace('_', ' ')}; "
            f"this needs it to be {' or '.join(s.value for s in statuses)}."
        )
