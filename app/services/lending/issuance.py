"""Issuing funded listings (schedule, notes, disbursement) and expiring unfunded ones."""

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Installment,
    InstallmentStatus,
    Investment,
    InvestmentStatus,
    Loan,
    LoanStatus,
    ServicingStatus,
)
from app.services.errors import DomainError
from app.services.money import ledger
from app.services.money.ledger import Leg
from app.services.money.money import cents
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import amortization


def issue_loan(
    session: Session,
    loan_id: int,
    *,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
    allow_partial: bool = False,
) -> Loan:
    """Turn a funded listing into a loan: schedule, active notes, fee and disbursement.

    Idempotent: an issued loan is returned unchanged. A partial issue (an expiring listing
    at or above the threshold) lends the funded amount and re-prices fee, payment and APR.
    """
    loan = session.get(Loan, loan_id, with_for_update=True, populate_existing=True)
    if loan is None:
        raise DomainError(f"No loan #{loan_id}.")
    if loan.status is LoanStatus.ISSUED:
        return loan
    if loan.status is not LoanStatus.LISTED:
        raise DomainError(f"Loan #{loan_id} is {loan.status.value}, not listed.")
    if loan.funded_amount != loan.amount and not allow_partial:
        raise DomainError(f"Loan #{loan_id} is not fully funded.")
    if loan.funded_amount != loan.amount:
        _reprice(loan, loan.funded_amount, policy)
    plans = amortization.schedule_from_issue(
        loan.amount,
        loan.interest_rate,
        loan.term_months,
        today,
        rounding=policy.payment_rounding,
    )
    _create_installments(session, loan, plans, today)
    notes = _activate_notes(session, loan.id)
    loan.status = LoanStatus.ISSUED
    loan.servicing_status = ServicingStatus.CURRENT
    loan.issued_at = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    loan.first_due_date = loan.next_due_date = plans[0].due_date
    loan.principal_outstanding = loan.amount
    loan.monthly_payment = plans[0].payment
    session.flush()
    _post_issue(session, loan, notes)
    _announce_issue(session, loan, len(notes))
    session.flush()
    return loan


def _announce_issue(session: Session, loan: Loan, notes: int) -> None:
    """Record the issue and tell the borrower what arrives and when the first payment is due."""
    activity.record(
        session,
        "loan.issued",
        entity=loan,
        amount=str(loan.amount),
        notes=notes,
        fee=str(loan.origination_fee),
    )
    notifications.notify(
        session,
        loan.borrower_id,
        "loan.issued",
        "Your loan is funded",
        f"${loan.amount - loan.origination_fee:,.2f} is on its way to you. Your first "
        f"payment of ${loan.monthly_payment:,.2f} is due {loan.first_due_date:%d %b %Y}.",
        link=("borrower.loan_show", {"loan_id": loan.id}),
        dedupe_key=f"issued-{loan.id}",
    )


def expire_listings(
    session: Session, *, now: datetime, policy: LendingPolicy = DEFAULT_POLICY
) -> dict[str, int]:
    """Close listings past their deadline: issue those funded to the threshold, refund the rest."""
    due = session.scalars(
        select(Loan.id)
        .where(Loan.status == LoanStatus.LISTED, Loan.funding_deadline <= now)
        .order_by(Loan.id)
    ).all()
    counts = {"issued": 0, "expired": 0}
    for loan_id in due:
        loan = session.get(Loan, loan_id, with_for_update=True, populate_existing=True)
        if loan.status is not LoanStatus.LISTED:
            continue
        if loan.funded_amount * 100 >= loan.amount * policy.issue_threshold_percent:
            issue_loan(session, loan_id, today=now.date(), policy=policy, allow_partial=True)
            counts["issued"] += 1
        else:
            expire_listing(session, loan)
            counts["expired"] += 1
    session.flush()
    return counts


def expire_listing(session: Session, loan: Loan) -> Loan:
    """Close an underfunded listing and give every committed dollar back to its lender."""
    notes = session.scalars(
        select(Investment)
        .where(Investment.loan_id == loan.id, Investment.status == InvestmentStatus.COMMITTED)
        .order_by(Investment.id)
    ).all()
    raised = loan.funded_amount
    by_lender: dict[int, Decimal] = defaultdict(Decimal)
    for note in notes:
        by_lender[note.lender_id] += note.amount
        note.status = InvestmentStatus.REFUNDED
    if by_lender:
        committed = ledger.accounts_for(
            session, AccountKind.LENDER_COMMITTED, "owner_id", by_lender
        )
        cash = ledger.accounts_for(session, AccountKind.LENDER_CASH, "owner_id", by_lender)
        legs = [
            leg
            for lender_id, amount in by_lender.items()
            for leg in (Leg(committed[lender_id], amount), Leg(cash[lender_id], -amount))
        ]
        ledger.post(
            session,
            "listing_refund",
            f"Loan #{loan.id} expired: commitments returned",
            legs,
            idempotency_key=f"refund:loan:{loan.id}",
            loan_id=loan.id,
        )
    loan.status = LoanStatus.EXPIRED
    loan.funded_amount = Decimal("0.00")
    loan.closed_at = datetime.now(UTC)
    activity.record(
        session, "loan.expired", entity=loan, raised=str(raised), lenders=len(by_lender)
    )
    notifications.notify(
        session,
        loan.borrower_id,
        "loan.expired",
        "Your listing closed unfunded",
        f"Lenders committed ${raised:,.2f} of ${loan.amount:,.2f}, below what we need "
        "to issue. You can apply again.",
        link=("borrower.application_show", {"loan_id": loan.id}),
        dedupe_key=f"expired-{loan.id}",
    )
    for lender_id, amount in by_lender.items():
        notifications.notify(
            session,
            lender_id,
            "investment.refunded",
            "A listing you backed expired",
            f"Loan #{loan.id} did not fund; ${amount:,.2f} is back in your cash.",
            link=("lender.dashboard", {}),
            dedupe_key=f"refund-{loan.id}-{lender_id}",
        )
    session.flush()
    return loan


def _reprice(loan: Loan, amount: Decimal, policy: LendingPolicy) -> None:
    loan.amount = amount
    loan.origination_fee = cents(amount * loan.origination_fee_rate / 100)
    loan.apr = amortization.apr_with_fee(
        amount,
        loan.interest_rate,
        loan.term_months,
        loan.origination_fee,
        rounding=policy.payment_rounding,
    )


def _create_installments(session: Session, loan: Loan, plans, issued_on: date) -> None:
    starts = [issued_on, *(plan.due_date for plan in plans[:-1])]
    session.execute(
        insert(Installment),
        [
            {
                "loan_id": loan.id,
                "number": plan.number,
                "due_date": plan.due_date,
                "accrual_start": start,
                "principal_due": plan.principal,
                "interest_due": plan.interest,
                "fee_due": Decimal("0.00"),
                "principal_paid": Decimal("0.00"),
                "interest_paid": Decimal("0.00"),
                "fee_paid": Decimal("0.00"),
                "status": InstallmentStatus.SCHEDULED,
            }
            for plan, start in zip(plans, starts, strict=True)
        ],
    )


def _activate_notes(session: Session, loan_id: int) -> list:
    """The loan's committed notes become active, in one statement; (id, lender_id, amount)
    of each, by id."""
    notes = session.execute(
        update(Investment)
        .where(Investment.loan_id == loan_id, Investment.status == InvestmentStatus.COMMITTED)
        .values(status=InvestmentStatus.ACTIVE, principal_outstanding=Investment.amount)
        .returning(Investment.id, Investment.lender_id, Investment.amount)
    ).all()
    return sorted(notes, key=lambda note: note.id)


def _post_issue(session: Session, loan: Loan, notes: list) -> None:
    """Committed cash becomes note principal; the borrower owes the amount, receives it net of the fee."""
    by_lender: dict[int, Decimal] = defaultdict(Decimal)
    for note in notes:
        by_lender[note.lender_id] += note.amount
    committed = ledger.accounts_for(session, AccountKind.LENDER_COMMITTED, "owner_id", by_lender)
    note_accounts = ledger.accounts_for(
        session, AccountKind.NOTE_PRINCIPAL, "investment_id", [note.id for note in notes]
    )
    receivable, payable, fees, clearing = ledger.account_ids(
        session,
        (AccountKind.LOAN_RECEIVABLE, {"loan_id": loan.id}),
        (AccountKind.BORROWER_PAYABLE, {"owner_id": loan.borrower_id}),
        (AccountKind.FEE_REVENUE, {}),
        (AccountKind.PROCESSOR_CLEARING, {}),
    )
    net = loan.amount - loan.origination_fee
    legs = [Leg(receivable, loan.amount), Leg(payable, -net)]
    legs += [Leg(committed[lender_id], amount) for lender_id, amount in by_lender.items()]
    legs += [Leg(note_accounts[note.id], -note.amount) for note in notes]
    if loan.origination_fee:
        legs.append(Leg(fees, -loan.origination_fee))
    ledger.post(
        session,
        "issue",
        f"Loan #{loan.id} issued",
        legs,
        idempotency_key=f"issue:loan:{loan.id}",
        effective_date=loan.issued_at,
        loan_id=loan.id,
    )
    ledger.post(
        session,
        "disburse",
        f"Loan #{loan.id} proceeds paid to the borrower",
        [Leg(payable, net), Leg(clearing, -net)],
        idempotency_key=f"disburse:loan:{loan.id}",
        effective_date=loan.issued_at,
        loan_id=loan.id,
        user_id=loan.borrower_id,
    )
