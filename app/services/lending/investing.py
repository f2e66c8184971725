"""Fractional investing: lenders buy $25 notes in listed loans, never overfunding or overdrawing."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    Investment,
    InvestmentStatus,
    LedgerAccount,
    Loan,
    LoanStatus,
    Role,
)
from app.services.accounts import accounts
from app.services.errors import DomainError, InsufficientFunds, ListingClosed, ValidationFailed
from app.services.money import idempotency, ledger
from app.services.platform import activity, outbox
from app.services.policy import DEFAULT_POLICY, LendingPolicy


def invest(
    session: Session,
    *,
    lender_id: int,
    loan_id: int,
    amount: Decimal,
    idempotency_key: str,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
    auto_reason: str | None = None,
) -> Investment:
    """Commit `amount` of a lender's cash to a listed loan; the same key twice has one effect.

    Safe under concurrency: one guarded UPDATE reserves the loan's remaining amount (locking
    the loan row first), then the lender's cash row is locked before the balance check, and
    CHECK constraints refuse overfunding or overdrawing should anything slip past.
    """
    check_amount(amount, policy)
    accounts.require_active(session, lender_id, Role.LENDER, "invest")
    with session.begin_nested():  # a refusal undoes the reservation, not the caller's work
        return _invest(
            session,
            lender_id,
            loan_id,
            amount,
            idempotency_key,
            policy,
            now or datetime.now(UTC),
            auto_reason,
        )


def _invest(session, lender_id, loan_id, amount, idempotency_key, policy, now, auto_reason):
    replay = idempotency.claim(
        session, lender_id, idempotency_key, "invest", {"loan_id": loan_id, "amount": str(amount)}
    )
    if replay is not None:
        return session.get(Investment, replay.resource_id)
    reserved = session.execute(
        update(Loan)
        .where(
            Loan.id == loan_id,
            Loan.status == LoanStatus.LISTED,
            Loan.funding_deadline > now,
            Loan.funded_amount + amount <= Loan.amount,
        )
        .values(funded_amount=Loan.funded_amount + amount, updated_at=now)
        .returning(Loan.funded_amount, Loan.amount)
        .execution_options(synchronize_session=False)
    ).first()
    if reserved is None:
        raise _why_not_reserved(session, loan_id, amount, now)
    cash = _locked_account(session, AccountKind.LENDER_CASH, lender_id)
    committed = ledger.account(session, AccountKind.LENDER_COMMITTED, owner_id=lender_id)
    _check_limits(session, lender_id, loan_id, amount, cash, policy)
    investment = Investment(
        loan_id=loan_id,
        lender_id=lender_id,
        amount=amount,
        principal_outstanding=Decimal("0.00"),
        status=InvestmentStatus.COMMITTED,
        auto_invested=auto_reason is not None,
        auto_invest_reason=auto_reason,
    )
    session.add(investment)
    session.flush()
    ledger.post(
        session,
        "invest",
        f"Note #{investment.id} in loan #{loan_id}",
        [ledger.debit(cash, amount), ledger.credit(committed, amount)],
        idempotency_key=f"invest:{investment.id}",
        loan_id=loan_id,
        user_id=lender_id,
    )
    idempotency.complete(session, lender_id, idempotency_key, "investment", investment.id)
    activity.record(
        session,
        "loan.invested",
        user_id=lender_id,
        entity=investment,
        loan_id=loan_id,
        amount=str(amount),
        auto=auto_reason,
    )
    if reserved.funded_amount == reserved.amount:
        outbox.add(session, "issue_loan", {"loan_id": loan_id}, dedupe_key=f"issue-loan-{loan_id}")
    _expire(session, Loan, loan_id)
    return investment


def check_amount(amount: Decimal, policy: LendingPolicy = DEFAULT_POLICY) -> None:
    """Amounts are whole multiples of the note unit, at least the minimum."""
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ValidationFailed({"amount": "Enter an amount in dollars."})
    if amount % policy.note_unit != 0:
        raise ValidationFailed(
            {
                "amount": f"Invest in multiples of ${policy.note_unit:,.0f}: "
                f"{amount:,.2f} is not a multiple of ${policy.note_unit:,.0f}."
            }
        )
    if amount < policy.minimum_investment:
        raise ValidationFailed({"amount": f"The minimum is ${policy.minimum_investment:,.2f}."})


def amount_held(session: Session, lender_id: int, loan_id: int) -> Decimal:
    """What a lender has in one loan (notes not refunded)."""
    return session.scalar(
        select(func.coalesce(func.sum(Investment.amount), 0)).where(
            Investment.lender_id == lender_id,
            Investment.loan_id == loan_id,
            Investment.status != InvestmentStatus.REFUNDED,
        )
    )


def _check_limits(session, lender_id, loan_id, amount, cash: LedgerAccount, policy) -> None:
    held = amount_held(session, lender_id, loan_id)
    if held + amount > policy.max_investment_per_loan:
        room = policy.max_investment_per_loan - held
        raise DomainError(
            f"You can hold at most ${policy.max_investment_per_loan:,.2f} of one loan; "
            f"you can add ${room:,.2f} more.",
            field="amount",
        )
    available = ledger.balance(session, cash.id)
    if available < amount:
        raise InsufficientFunds(
            f"Insufficient cash: you have ${available:,.2f} available.", field="amount"
        )


def _why_not_reserved(
    session: Session, loan_id: int, amount: Decimal, now: datetime
) -> DomainError:
    loan = session.get(Loan, loan_id, populate_existing=True)
    return _closure(loan, now) or DomainError(
        f"Only ${loan.amount_left:,.2f} left in this loan.", field="amount"
    )


def _closure(loan: Loan | None, now: datetime) -> ListingClosed | None:
    """Why the loan takes no investment now, or None while it does."""
    if loan is None or loan.status is not LoanStatus.LISTED:
        return ListingClosed("This loan is not open for investment.", field="amount")
    if loan.funding_deadline is None or loan.funding_deadline <= now:
        return ListingClosed("This listing has closed.", field="amount")
    if loan.amount_left <= 0:
        return ListingClosed("This loan is fully funded.", field="amount")
    return None


def _locked_account(session: Session, kind: AccountKind, owner_id: int) -> LedgerAccount:
    account = ledger.account(session, kind, owner_id=owner_id)
    return session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.id == account.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _expire(session: Session, model, object_id: int) -> None:
    obj = session.identity_map.get(session.identity_key(model, object_id))
    if obj is not None:
        session.expire(obj)


def takes_investments(loan: Loan, now: datetime) -> bool:
    """Listed, before its deadline, with something left to fund."""
    return _closure(loan, now) is None
