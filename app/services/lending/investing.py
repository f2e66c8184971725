"""Fractional investing: lenders buy $25 notes in listed loans, never overfunding or overdrawing."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, make_transient_to_detached

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
from app.services.lending import investing_sql as sql
from app.services.money import idempotency, ledger
from app.services.platform import activity
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

    One call of `place_note` (`investing_sql`): lock the lender's cash; write the note and all
    that hangs off it; reserve the loan last, whose hot row is so held for one statement and
    the COMMIT. A refusal writes nothing; CHECKs back it up.
    """
    check_amount(amount, policy)
    now = now or datetime.now(UTC)
    idempotency.check_key(idempotency_key)
    request = {"loan_id": loan_id, "amount": str(amount)}
    # Built before the call: from its answer to the caller's COMMIT the loan row is locked, so
    # as little as possible happens there.
    note = _new_note(lender_id, loan_id, amount, auto_reason, now)
    placed = session.execute(
        sql.PLACE,
        {
            "lender": lender_id,
            "loan": loan_id,
            "amount": amount,
            "cap": policy.max_investment_per_loan,
            "share": policy.suitability_percent_of_net_worth,
            "now": now,
            "cash_code": ledger.account_code(AccountKind.LENDER_CASH, owner_id=lender_id),
            "committed_code": ledger.account_code(AccountKind.LENDER_COMMITTED, owner_id=lender_id),
            "key": idempotency_key,
            "hash": idempotency.request_hash(request),
            "auto_reason": auto_reason,
            **_client(),
        },
    ).one()
    reason = accounts.inactive_reason(placed.role, placed.is_active, Role.LENDER, "invest")
    if reason:
        raise DomainError(reason)
    if placed.note_id is None:
        return _replay_or_refuse(session, lender_id, loan_id, amount, idempotency_key, now, policy)
    note.id = placed.note_id
    expire(session, Loan, loan_id)
    for account_id in (placed.cash_id, placed.committed_id):
        expire(session, LedgerAccount, account_id)
    # Plain values, not yet an ORM Loan: building one here, while the loan row is locked, cost
    # 10 % of the throughput on a hot loan. `reserved_loan` builds it after the COMMIT.
    note.reserved = Reservation(
        placed.loan_status, placed.loan_amount, placed.loan_funded, placed.loan_grade,
        placed.loan_rate, placed.loan_payment, placed.loan_term, now,
    )  # fmt: skip
    return _attached(session, note)


@dataclass(frozen=True)
class Reservation:
    """The loan as a note's placement left it (place_note's answer)."""

    status: str
    amount: Decimal
    funded_amount: Decimal
    risk_grade: str | None
    interest_rate: Decimal | None
    monthly_payment: Decimal | None
    term_months: int
    updated_at: datetime


def reserved_loan(session: Session, note: Investment) -> Loan | None:
    """The loan of a note this process just placed, without reading it back: the session's
    own copy if it has one, else one built from the placement's answer, whose other attributes
    load on first use. None for any other note."""
    reservation = note.reserved
    if reservation is None:
        return None
    loan = session.identity_map.get(session.identity_key(Loan, note.loan_id))
    if loan is not None:
        return loan
    loan = Loan(
        id=note.loan_id,
        status=LoanStatus(reservation.status),
        servicing_status=None,  # a listing: servicing starts at issuance
        amount=reservation.amount,
        funded_amount=reservation.funded_amount,
        risk_grade=reservation.risk_grade,
        interest_rate=reservation.interest_rate,
        monthly_payment=reservation.monthly_payment,
        term_months=reservation.term_months,
        updated_at=reservation.updated_at,
    )
    return _attached(session, loan)


def _client() -> dict:
    """The key's scope and the request's origin, for the key and the audit row it writes."""
    ip, agent = activity.current_client()
    return {"scope": "invest", "ip": ip, "agent": agent}


def _replay_or_refuse(session, lender_id, loan_id, amount, key, now, policy) -> Investment:
    """The note an earlier request with this key placed (or why the key does not fit), else
    the refusal: nothing was written."""
    request = {"loan_id": loan_id, "amount": str(amount)}
    record = idempotency.existing(session, lender_id, key, "invest", request)
    if record is not None:
        return session.get(Investment, record.resource_id)
    raise _why_refused(session, lender_id, loan_id, amount, now, policy)


def _new_note(lender_id, loan_id, amount, auto_reason, created_at) -> Investment:
    """The note place_note writes, as its row will read (but its id)."""
    return Investment(
        loan_id=loan_id,
        lender_id=lender_id,
        amount=amount,
        principal_outstanding=Decimal("0.00"),
        status=InvestmentStatus.COMMITTED,
        auto_invested=auto_reason is not None,
        auto_invest_reason=auto_reason,
        created_at=created_at,
        updated_at=created_at,
    )


def _attached(session: Session, row):
    """`row` as a persistent object, without reading back what was just written (attributes
    it was not given load when first read)."""
    make_transient_to_detached(row)
    session.add(row)
    return row


def _why_refused(session, lender_id, loan_id, amount, now, policy) -> DomainError:
    loan = session.get(Loan, loan_id, populate_existing=True)
    held = amount_held(session, lender_id, loan_id)
    available = ledger.balance_of(session, AccountKind.LENDER_CASH, owner_id=lender_id)
    room = suitability(session, lender_id, policy)
    return refusal(loan, amount, held, available, policy, now, room) or _short_of_cash(available)


@dataclass(frozen=True)
class Suitability:
    """How far a lender's notes are from the limit their declared net worth sets."""

    net_worth: Decimal | None  # None: not declared yet
    limit: Decimal | None
    in_notes: Decimal  # committed to listings plus principal outstanding on issued notes

    @property
    def room(self) -> Decimal:
        if self.limit is None:
            return Decimal("0.00")
        return max(self.limit - self.in_notes, Decimal("0.00"))


def suitability(session: Session, lender_id: int, policy: LendingPolicy) -> Suitability:
    """The lender's suitability limit and what counts against it."""
    net_worth, in_notes = session.execute(sql.SUITABILITY, {"lender": lender_id}).one()
    return Suitability(net_worth, policy.suitability_limit(net_worth), in_notes)


def suitability_refusal(
    room: Suitability, amount: Decimal, policy: LendingPolicy
) -> DomainError | None:
    """Why `amount` more in notes would break the lender's suitability limit, else None."""
    share = f"{policy.suitability_percent_of_net_worth:,.0f} %"
    if room.limit is None:
        return DomainError(
            f"Before you invest, declare your net worth on your profile: your notes may total "
            f"at most {share} of it.",
            field="amount",
        )
    if amount > room.room:
        return DomainError(
            f"Your notes may total at most {share} of your declared net worth, "
            f"${room.limit:,.2f}; you have ${room.in_notes:,.2f} in notes, so you can add "
            f"${room.room:,.2f} more.",
            field="amount",
        )
    return None


def refusal(
    loan,
    amount: Decimal,
    held: Decimal,
    available: Decimal,
    policy: LendingPolicy,
    now: datetime,
    room: Suitability,
) -> DomainError | None:
    """Why an investment of `amount` is refused, in the order a lender would fix things: the
    listing, what is left, the per-loan cap, the suitability limit, then cash; None when
    nothing stands in its way. `loan` needs only status, funding_deadline and amount_left
    (None: no such loan)."""
    closed = why_closed(loan, now)
    if closed is not None:
        return closed
    if loan.amount_left < amount:
        return DomainError(f"Only ${loan.amount_left:,.2f} left in this loan.", field="amount")
    if held + amount > policy.max_investment_per_loan:
        room = policy.max_investment_per_loan - held
        return DomainError(
            f"You can hold at most ${policy.max_investment_per_loan:,.2f} of one loan; "
            f"you can add ${room:,.2f} more.",
            field="amount",
        )
    too_much = suitability_refusal(room, amount, policy)
    if too_much is not None:
        return too_much
    if available < amount:
        return _short_of_cash(available)
    return None


def _short_of_cash(available: Decimal) -> InsufficientFunds:
    return InsufficientFunds(
        f"Insufficient cash: you have ${available:,.2f} available.", field="amount"
    )


def check_amount(amount: Decimal, policy: LendingPolicy = DEFAULT_POLICY) -> None:
    """Amounts are whole multiples of the note unit, at least the minimum."""
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ValidationFailed({"amount": "Enter an amount in dollars."})
    if amount % policy.note_unit != 0:
        raise ValidationFailed(
            {
                "amount": f"Invest in multiples of ${policy.note_unit:,.0f}: "
                f"${amount:,.2f} is not a multiple of ${policy.note_unit:,.0f}."
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


def why_closed(loan: Loan | None, now: datetime) -> ListingClosed | None:
    """Why the loan takes no investment now, or None while it does."""
    if loan is None or loan.status is not LoanStatus.LISTED:
        return ListingClosed("This loan is not open for investment.", field="amount")
    if loan.funding_deadline is None or loan.funding_deadline <= now:
        return ListingClosed("This listing has closed.", field="amount")
    if loan.amount_left <= 0:
        return ListingClosed("This loan is fully funded.", field="amount")
    return None


def expire(session: Session, model, object_id: int) -> None:
    obj = session.identity_map.get(session.identity_key(model, object_id))
    if obj is not None:
        session.expire(obj)


def takes_investments(loan: Loan, now: datetime) -> bool:
    """Listed, before its deadline, with something left to fund."""
    return why_closed(loan, now) is None
