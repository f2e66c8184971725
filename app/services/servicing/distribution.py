"""A received payment passed through to the loan's notes and posted to the ledger."""

from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Investment,
    InvestmentStatus,
    Loan,
    Payment,
    PaymentAllocation,
)
from app.services.collections import agency
from app.services.errors import DomainError
from app.services.lending import strategies
from app.services.money import ledger
from app.services.money.ledger import Leg
from app.services.money.money import ZERO, cents, split_largest_remainder
from app.services.policy import LendingPolicy
from app.services.servicing import amortization
from app.services.servicing.allocation import Applied

COMPONENTS = ("late_fee", "interest", "principal", "recovery")
AGENCY = "agency_fee"  # taken from the recovery: the note receives its components less this


def distribute(
    session: Session,
    loan: Loan,
    payment: Payment,
    applied: Applied,
    received_on: date,
    policy: LendingPolicy,
) -> None:
    """Split each component across the notes (cumulatively cent-exact) and post the entry."""
    note_status = InvestmentStatus.CHARGED_OFF if applied.recovery else InvestmentStatus.ACTIVE
    notes = list(
        session.scalars(
            select(Investment)
            .where(Investment.loan_id == loan.id, Investment.status == note_status)
            .order_by(Investment.id)
        )
    )
    if not notes:
        raise DomainError(f"Loan #{loan.id} has no notes to pay.")
    weights = {note.id: note.amount for note in notes}
    shares = _component_shares(session, weights, applied)
    shares[AGENCY] = _agency_shares(session, loan, weights, applied)
    fees = _servicing_fees(loan, notes, shares, applied, received_on, policy)
    session.execute(insert_allocations(payment.id, notes, shares, fees))
    for note in notes:
        note.principal_outstanding -= shares["principal"][note.id]
    _post_payment(session, loan, payment, notes, shares, fees, applied)


def _agency_shares(session: Session, loan: Loan, weights: dict[int, Decimal], applied: Applied):
    """Each note's part of the collection agency's fee on a recovery (`collections.agency`):
    the fee on the whole recovery, shared by note amount as the other components are."""
    percent = agency.fee_percent(session, loan.id) if applied.recovery else ZERO
    fee = agency.fee_on(applied.recovery, percent)
    if not fee:
        return dict.fromkeys(weights, ZERO)
    paid = dict(
        session.execute(
            select(PaymentAllocation.investment_id, func.sum(PaymentAllocation.agency_fee))
            .where(PaymentAllocation.investment_id.in_(weights))
            .group_by(PaymentAllocation.investment_id)
        ).all()
    )
    return split_largest_remainder(sum(paid.values(), ZERO) + fee, weights, paid)


def _component_shares(session: Session, weights: dict[int, Decimal], applied: Applied):
    columns = [func.coalesce(func.sum(getattr(PaymentAllocation, c)), 0) for c in COMPONENTS]
    previous = {
        row[0]: dict(zip(COMPONENTS, row[1:], strict=True))
        for row in session.execute(
            select(PaymentAllocation.investment_id, *columns)
            .where(PaymentAllocation.investment_id.in_(weights))
            .group_by(PaymentAllocation.investment_id)
        )
    }
    shares = {}
    for component in COMPONENTS:
        amount = getattr(applied, component)
        paid = {note_id: previous.get(note_id, {}).get(component, ZERO) for note_id in weights}
        if amount == 0:
            shares[component] = dict.fromkeys(weights, ZERO)
            continue
        shares[component] = split_largest_remainder(
            sum(paid.values(), ZERO) + amount, weights, paid
        )
    return shares


def _servicing_fees(loan, notes, shares, applied, received_on, policy) -> dict[int, Decimal]:
    """Each note's servicing fee on this payment (`servicing_fee`), the prepaid principal
    shared by note amount."""
    capped = received_on < amortization.add_months(
        loan.issued_at.date(), policy.prepayment_fee_cap_months
    )
    total_weight = sum((note.amount for note in notes), ZERO)
    fees = {}
    for note in notes:
        weight = note.amount / total_weight
        fees[note.id] = servicing_fee(
            sum((shares[c][note.id] for c in COMPONENTS), ZERO) - shares[AGENCY][note.id],
            prepaid=applied.prepaid * weight,
            regular_payment=loan.monthly_payment * weight if capped else None,
            percent=policy.servicing_fee_percent,
        )
    return fees


def servicing_fee(
    received: Decimal, *, prepaid: Decimal, regular_payment: Decimal | None, percent: Decimal
) -> Decimal:
    """The servicing fee on one note's share of one payment: the one rule, for every path.

    `percent` of what the note received. In the first year (`regular_payment` given: the note's
    share of the monthly payment) principal paid before its due date adds fee only until the
    payment's fee reaches `percent` of the regular payment; it never lowers the fee on what
    was due. Exact until the one rounding, half-even to the cent.
    """
    rate = percent / 100
    if regular_payment is None:
        return cents(received * rate)
    regular = (received - prepaid) * rate
    return cents(regular + min(prepaid * rate, max(regular_payment * rate - regular, ZERO)))


def insert_allocations(payment_id: int, notes, shares, fees):
    """One INSERT for every note's allocation row."""
    return insert(PaymentAllocation).values(
        [
            {
                "payment_id": payment_id,
                "investment_id": note.id,
                "lender_id": note.lender_id,
                **{c: shares[c][note.id] for c in COMPONENTS},
                "servicing_fee": fees[note.id],
                AGENCY: shares[AGENCY][note.id],
            }
            for note in notes
        ]
    )


def _post_payment(session, loan, payment, notes, shares, fees, applied) -> None:
    lenders = ledger.accounts_for(
        session, AccountKind.LENDER_CASH, "owner_id", [note.lender_id for note in notes]
    )
    note_accounts = ledger.accounts_for(
        session, AccountKind.NOTE_PRINCIPAL, "investment_id", [note.id for note in notes]
    )
    to_lender: dict[int, Decimal] = defaultdict(Decimal)
    legs = []
    for note in notes:
        received = sum((shares[c][note.id] for c in COMPONENTS), ZERO) - shares[AGENCY][note.id]
        to_lender[note.lender_id] += received - fees[note.id]
        if shares["principal"][note.id]:
            legs.append(Leg(note_accounts[note.id], shares["principal"][note.id]))
    legs += [Leg(lenders[lender_id], -amount) for lender_id, amount in to_lender.items() if amount]
    clearing = ledger.account(session, AccountKind.PROCESSOR_CLEARING)
    receivable = ledger.account(session, AccountKind.LOAN_RECEIVABLE, loan_id=loan.id)
    legs += [
        ledger.debit(clearing, payment.amount),
        ledger.credit(receivable, applied.principal + applied.recovery),
        ledger.credit(ledger.account(session, AccountKind.FEE_REVENUE), sum(fees.values(), ZERO)),
    ]
    if applied.recovery:
        losses = ledger.account(session, AccountKind.CREDIT_LOSSES, loan_id=loan.id)
        legs.append(ledger.debit(losses, applied.recovery))
    if agency_fee := sum(shares[AGENCY].values(), ZERO):
        legs.append(ledger.credit(agency.account(session), agency_fee))
    strategies.repaid(session, to_lender, dedupe_key=f"auto-payment-{payment.id}")
    kind = "recovery" if applied.recovery else "repayment"
    ledger.post(
        session,
        kind,
        f"Payment #{payment.id} on loan #{loan.id}",
        [leg for leg in legs if leg.amount],
        idempotency_key=f"payment:{payment.id}",
        loan_id=loan.id,
        user_id=payment.payer_id,
        effective_date=datetime.combine(payment.received_on, time.min, tzinfo=UTC),
    )
