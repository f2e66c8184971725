"""An accepted hardship plan applied to the loan in one transaction: the open installments
cancelled and the new ones inserted, capitalised interest posted to the ledger pro rata, the
noteholders told; a settlement paid through the payment path and the rest charged off."""

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Installment,
    InstallmentStatus,
    Investment,
    InvestmentStatus,
    Loan,
    LoanModification,
    ModificationKind,
    ModificationState,
    Provider,
)
from app.services.errors import DomainError
from app.services.money import ledger
from app.services.money.ledger import Leg
from app.services.money.money import ZERO, split_largest_remainder
from app.services.platform import activity, notifications
from app.services.servicing import amortization, repayments, servicing
from app.services.servicing.allocation import OPEN


def apply(session: Session, loan: Loan, modification, seen, today: date, policy) -> None:
    """Apply an accepted plan (`seen`: its preview, recomputed now) to the locked loan."""
    if modification.kind is ModificationKind.SETTLEMENT:
        settle(session, loan, modification, Decimal(seen.terms["amount"]), today, policy)
    else:
        reschedule(session, loan, modification, seen.plan, today, policy)
    loan.modified, loan.modified_at = True, datetime.now(UTC)
    activity.record(
        session, "loan.modified", user_id=modification.accepted_by, entity=loan,
        modification_id=modification.id, kind=modification.kind.value, terms=modification.terms,
        cost_difference=str(modification.cost_difference),
    )  # fmt: skip
    _tell_noteholders(session, loan, modification)


def reschedule(session: Session, loan: Loan, modification, plan, today, policy) -> None:
    """Cancel the open installments and insert the plan's after the highest number."""
    rows = list(
        session.scalars(
            select(Installment)
            .where(Installment.loan_id == loan.id, Installment.status.in_(OPEN))
            .order_by(Installment.number)
        )
    )
    top = session.scalar(select(func.max(Installment.number)).where(Installment.loan_id == loan.id))
    first_start = rows[0].accrual_start
    if modification.kind is ModificationKind.HOLIDAY:  # the first new period follows the holiday
        months = modification.terms["months"]
        first_start = amortization.due_date(rows[0].due_date, months - 1, loan.issued_at.day)
    for row in rows:  # as a prepayment cancels: nothing left due (the plan keeps the old rows)
        row.status = InstallmentStatus.CANCELLED
        row.principal_due = row.interest_due = row.deferred_interest_due = ZERO
    session.flush()
    starts = [first_start, *(p.due_date for p in plan.installments[:-1])]
    session.execute(
        insert(Installment),
        [
            {
                "loan_id": loan.id,
                "number": top + p.number,
                "due_date": p.due_date,
                "accrual_start": start,
                "principal_due": p.principal,
                "interest_due": p.interest,
                "deferred_interest_due": plan.share(index),
                "status": InstallmentStatus.SCHEDULED,
            }  # fmt: skip
            for index, (p, start) in enumerate(zip(plan.installments, starts, strict=True))
        ],
    )
    if plan.capitalised:
        capitalise(session, loan, modification, plan.capitalised)
    loan.monthly_payment = plan.payment
    servicing.refresh_delinquency(session, loan, today, policy)


def capitalise(session: Session, loan: Loan, modification, interest: Decimal) -> None:
    """The holiday's interest becomes principal: the receivable and the notes' claims grow.

    Each note's share is its cumulative pro-rata share (by note amount, the residue rule of
    `split_largest_remainder`) of all interest ever capitalised on the loan, less what it was
    given before: the cumulative split of principal repayments then ends every note at zero.
    """
    notes = _active_notes(session, loan.id)
    before = _capitalised_before(session, loan.id)
    weights = {note.id: note.amount for note in notes}
    earlier = sum(before.values(), ZERO)
    shares = split_largest_remainder(earlier + interest, weights, before)
    if any(note.principal_outstanding + shares[note.id] > note.amount for note in notes):
        raise DomainError("Too little is repaid yet to add the holiday's interest to the loan.")
    note_accounts = ledger.accounts_for(
        session, AccountKind.NOTE_PRINCIPAL, "investment_id", list(weights)
    )
    receivable = ledger.account(session, AccountKind.LOAN_RECEIVABLE, loan_id=loan.id)
    legs = [ledger.debit(receivable, interest)]
    legs += [Leg(note_accounts[n], -share) for n, share in shares.items() if share]
    ledger.post(
        session, "capitalised_interest",
        f"Loan #{loan.id}: holiday interest capitalised (plan #{modification.id})", legs,
        idempotency_key=f"capitalise:modification:{modification.id}", loan_id=loan.id,
        details={"note_shares": {str(n): f"{s:.2f}" for n, s in shares.items()}},
    )  # fmt: skip
    for note in notes:
        note.principal_outstanding += shares[note.id]
    loan.principal_outstanding += interest
    modification.terms = {
        **modification.terms,
        "note_shares": {str(n): f"{s:.2f}" for n, s in shares.items()},
    }


def _capitalised_before(session: Session, loan_id: int) -> dict[int, Decimal]:
    """Each note's share of interest capitalised by earlier plans."""
    shares: dict[int, Decimal] = {}
    for terms in session.scalars(
        select(LoanModification.terms).where(
            LoanModification.loan_id == loan_id,
            LoanModification.state == ModificationState.APPLIED,
            LoanModification.kind == ModificationKind.HOLIDAY,
        )
    ):
        for note_id, share in (terms.get("note_shares") or {}).items():
            shares[int(note_id)] = shares.get(int(note_id), ZERO) + Decimal(share)
    return shares


def _active_notes(session: Session, loan_id: int) -> list[Investment]:
    return list(
        session.scalars(
            select(Investment)
            .where(Investment.loan_id == loan_id, Investment.status == InvestmentStatus.ACTIVE)
            .order_by(Investment.id)
        )
    )


def settle(session, loan, modification, amount: Decimal, today: date, policy) -> None:
    """The lump sum through the payment path; the principal left charged off to the notes
    pro rata (their losses); the receivable written off: nothing more is owed."""
    repayments.apply_payment(
        session, loan.id, amount, received_on=today,
        idempotency_key=f"settlement-{modification.id}", payer_id=loan.borrower_id,
        provider=Provider.MANUAL, policy=policy,
    )  # fmt: skip
    if loan.principal_outstanding == 0:  # the lump sum happened to pay it all
        return
    servicing.charge_off(
        session, loan.id, today, reason=f"settled for less (plan #{modification.id})",
        admin_id=modification.approved_by,
    )  # fmt: skip
    owed = ledger.balance_of(session, AccountKind.LOAN_RECEIVABLE, loan_id=loan.id)
    receivable = ledger.account(session, AccountKind.LOAN_RECEIVABLE, loan_id=loan.id)
    losses = ledger.account(session, AccountKind.CREDIT_LOSSES, loan_id=loan.id)
    ledger.post(
        session, "settlement_write_off",
        f"Loan #{loan.id} settled for less: ${owed:,.2f} forgiven",
        [ledger.debit(losses, owed), ledger.credit(receivable, owed)],
        idempotency_key=f"settlement:modification:{modification.id}", loan_id=loan.id,
    )  # fmt: skip
    loan.settled_at = datetime.now(UTC)


def describe(modification) -> str:
    """What changed, in words noteholders may read (no personal data)."""
    terms = modification.terms
    if modification.kind is ModificationKind.HOLIDAY:
        how = "added to principal" if terms["holiday_interest"] == "capitalise" else "spread"
        months = terms["months"]
        return f"payment holiday of {months} month{'s' * (months > 1)} (interest {how})"
    if modification.kind is ModificationKind.REAMORTISATION:
        return f"lower payment over {terms['term']} more months at the same rate"
    if modification.kind is ModificationKind.RATE_REDUCTION:
        return f"rate reduced to {terms['reduced_rate']}% for {terms['months']} months"
    return f"settled for ${Decimal(terms['amount']):,.2f}; the rest is charged off"


def _tell_noteholders(session: Session, loan: Loan, modification) -> None:
    lenders = session.scalars(
        select(func.distinct(Investment.lender_id)).where(
            Investment.loan_id == loan.id,
            Investment.status.in_((InvestmentStatus.ACTIVE, InvestmentStatus.CHARGED_OFF)),
        )
    ).all()
    text = describe(modification)
    for lender_id in lenders:
        notifications.notify(
            session, lender_id, "loan.modified", f"Loan #{loan.id} was modified",
            f"Loan #{loan.id} was modified: {text}.",
            link=("lender.listing_show", {"loan_id": loan.id}),
            dedupe_key=f"loan-modified-{modification.id}-{lender_id}",
            data={"loan_id": loan.id, "modification_id": modification.id},
        )  # fmt: skip


def interest_forgone(modification: LoanModification) -> Decimal:
    """Interest the noteholders give up under the plan (old schedule − new), for display."""
    old = sum((Decimal(r["interest"]) for r in modification.old_schedule or []), ZERO)
    new = sum((Decimal(r["interest"]) for r in modification.new_schedule or []), ZERO)
    return old - new


def lender_view(session: Session, loan: Loan, held: Decimal) -> list[dict]:
    """The plans applied to a loan as a noteholder holding `held` of it sees them: what
    changed, when, and the interest given up (theirs: pro rata by note amount)."""
    plans = session.scalars(
        select(LoanModification)
        .where(
            LoanModification.loan_id == loan.id,
            LoanModification.state == ModificationState.APPLIED,
        )
        .order_by(LoanModification.accepted_at)
    ).all()
    views = []
    for plan in plans:
        forgone = interest_forgone(plan)
        views.append(
            {
                "what": describe(plan),
                "on": plan.accepted_at.date(),
                "kind": plan.kind.value,
                "interest_forgone": forgone,
                "your_share": (forgone * held / loan.funded_amount).quantize(ZERO),
            }
        )
    return views


def schedule_left(session: Session, loan: Loan) -> list[amortization.InstallmentPlan]:
    """A modified loan's open installments as plans: what its noteholders still expect."""
    rows = session.scalars(
        select(Installment)
        .where(Installment.loan_id == loan.id, Installment.status.in_(OPEN))
        .order_by(Installment.number)
    ).all()
    balance, plans = loan.principal_outstanding, []
    for row in rows:
        principal = row.principal_due - row.principal_paid
        balance -= principal
        plans.append(
            amortization.InstallmentPlan(
                row.number,
                row.due_date,
                principal + row.interest_due - row.interest_paid,
                principal,
                row.interest_due - row.interest_paid,
                balance,
            )  # fmt: skip
        )
    return plans
