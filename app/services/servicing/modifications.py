"""Hardship plans from request to applied: the borrower asks, an admin offers, the borrower
accepts (docs/lending-rules.md "Hardship plans"). `modification_apply` changes the loan."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Installment,
    Loan,
    LoanModification,
    ModificationKind,
    ModificationState,
)
from app.models.modification import OPEN_STATES
from app.services.errors import DomainError, ValidationFailed
from app.services.money.money import ZERO
from app.services.platform import activity, notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import amortization, hardship, modification_apply, repayments
from app.services.servicing.allocation import OPEN


@dataclass(frozen=True)
class Preview:
    """A plan as the borrower and the admin see it before it is applied."""

    kind: ModificationKind
    terms: dict  # the plan's parameters as JSON values
    old: list[dict]  # the open installments it replaces
    new: list[dict]  # the installments it brings (none for a settlement)
    cost_difference: Decimal  # what the borrower pays in all: new − old
    new_payment: Decimal | None
    new_end_date: date | None
    plan: hardship.Plan | None = None


def open_installments(session: Session, loan_id: int) -> list[Installment]:
    return list(
        session.scalars(
            select(Installment)
            .where(Installment.loan_id == loan_id, Installment.status.in_(OPEN))
            .order_by(Installment.number)
        )
    )


def position(session: Session, loan: Loan) -> tuple[hardship.Position, list[Installment]]:
    """Where the loan's schedule stands; refused unless every open installment is unpaid."""
    repayments.require_repaying(loan)
    rows = open_installments(session, loan.id)
    if not rows:
        raise DomainError(f"Loan #{loan.id} has nothing left to reschedule.")
    if any(i.principal_paid or i.interest_paid for i in rows):
        raise DomainError("An installment is part-paid: pay it in full first, then ask again.")
    first, due_day = rows[0], loan.issued_at.day
    if first.accrual_start == amortization.due_date(first.due_date, -1, due_day):
        days = amortization.DAYS_PER_MONTH  # a whole schedule month, as the schedule counted it
    else:  # an early payment ended the period before: it runs from that day
        days = amortization.days_30_360(first.accrual_start, first.due_date)
    months = (first.due_date.year - loan.first_due_date.year) * 12
    return hardship.Position(
        balance=loan.principal_outstanding,
        annual_rate=loan.interest_rate,
        remaining=len(rows),
        first_due=first.due_date,
        due_day=due_day,
        payment=loan.monthly_payment,
        elapsed=months + first.due_date.month - loan.first_due_date.month,
        first_period_days=days,
    ), rows


def preview(
    session: Session,
    loan: Loan,
    kind: ModificationKind,
    params: dict,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> Preview:
    """The new schedule, its cost difference and effect; ValidationFailed if outside policy."""
    pos, rows = position(session, loan)
    old = [_row(i.number, i.due_date, i.principal_due, i.interest_due) for i in rows]
    old_total = sum((i.principal_due + i.interest_due for i in rows), ZERO)
    if kind is ModificationKind.SETTLEMENT:
        amount = _settlement_amount(session, loan, params, today, policy)
        terms = {"amount": f"{amount:.2f}"}
        return Preview(kind, terms, old, [], amount - old_total, None, None)
    if kind is not ModificationKind.HOLIDAY and pos.first_due < today:
        raise ValidationFailed(
            {"kind": "A payment is overdue: a payment holiday can defer it; a lower payment or "
             "rate starts from a loan that is up to date."}
        )  # fmt: skip
    plan = _plan(session, loan, kind, pos, params, today, policy)
    # A spread holiday's shares still unpaid stay owed: spread again over the new schedule.
    plan = hardship.carry_spread(plan, sum((i.deferred_interest_due for i in rows), ZERO))
    new = [_row(p.number, p.due_date, p.principal, p.interest) for p in plan.installments]
    return Preview(
        kind, plan.terms, old, new, plan.total - old_total, plan.payment, plan.end_date, plan
    )


def _plan(session, loan, kind, pos, params, today, policy) -> hardship.Plan:
    rounding = policy.payment_rounding
    if kind is ModificationKind.HOLIDAY:
        months = _whole(params, "months", 1, policy.holiday_max_months)
        _check_holiday_allowed(session, loan, today, policy)
        plan = hardship.payment_holiday(pos, months, policy.holiday_interest, rounding=rounding)
        _check_capitalisable(session, loan, plan.capitalised)
        return plan
    if kind is ModificationKind.REAMORTISATION:
        term = _whole(params, "term", 1, policy.hardship_max_term_months)
        return hardship.reamortisation(
            pos, term, max_term=policy.hardship_max_term_months, rounding=rounding
        )
    if kind is ModificationKind.RATE_REDUCTION:
        months = _whole(params, "months", 1, policy.rate_reduction_max_months)
        rate = params.get("reduced_rate")
        if not isinstance(rate, Decimal):
            raise ValidationFailed({"reduced_rate": "Enter the reduced rate in percent."})
        return hardship.rate_reduction(
            pos, rate, months, max_months=policy.rate_reduction_max_months, rounding=rounding
        )
    raise ValidationFailed({"kind": "Choose a kind of plan."})


def _whole(params: dict, name: str, low: int, high: int) -> int:
    value = params.get(name)
    if not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed({name: f"Enter a whole number of months from {low} to {high}."})
    return value


def _check_holiday_allowed(session, loan, today, policy) -> None:
    """At most one payment holiday every `holiday_every_months`."""
    last = session.scalar(
        select(LoanModification.accepted_at)
        .where(
            LoanModification.loan_id == loan.id,
            LoanModification.kind == ModificationKind.HOLIDAY,
            LoanModification.state == ModificationState.APPLIED,
        )
        .order_by(LoanModification.accepted_at.desc())
        .limit(1)
    )
    if last is not None:
        again = amortization.add_months(last.date(), policy.holiday_every_months)
        if today < again:
            raise ValidationFailed(
                {
                    "months": f"A payment holiday is possible once every "
                    f"{policy.holiday_every_months} months: the next from {again:%d %b %Y}."
                }
            )


def _check_capitalisable(session, loan, interest: Decimal) -> None:
    """Capitalised interest may not lift the principal above what was lent."""
    if interest and loan.principal_outstanding + interest > loan.amount:
        raise ValidationFailed(
            {"months": "Too little is repaid yet to add the holiday's interest to the loan."}
        )


def _settlement_amount(session, loan, params, today, policy) -> Decimal:
    amount = params.get("amount")
    payoff = repayments.payoff_amount(session, loan, today).total
    floor = hardship.settlement_floor(payoff, policy.settlement_floor_percent)
    if not isinstance(amount, Decimal) or not floor <= amount < payoff:
        raise ValidationFailed(
            {"amount": f"Offer from ${floor:,.2f} up to below the ${payoff:,.2f} payoff."}
        )
    return amount


def _row(number: int, due: date, principal: Decimal, interest: Decimal) -> dict:
    return {
        "number": number,
        "due_date": due.isoformat(),
        "principal": f"{principal:.2f}",
        "interest": f"{interest:.2f}",
        "payment": f"{principal + interest:.2f}",
    }


def request(
    session: Session,
    loan_id: int,
    borrower_id: int,
    kind: ModificationKind,
    params: dict,
    reason: str,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> LoanModification:
    """The borrower asks for a plan (checked against policy now, decided by an admin)."""
    if not (reason or "").strip():
        raise ValidationFailed({"reason": "Tell us briefly what has changed."})
    loan = locked_loan(session, loan_id)
    if loan.borrower_id != borrower_id:
        raise DomainError(f"No loan #{loan_id}.")
    _check_noneopen_plan(session, loan)
    seen = preview(session, loan, kind, params, today, policy)
    modification = LoanModification(
        loan_id=loan.id, kind=kind, terms=seen.terms, reason=reason.strip(),
        requested_by=borrower_id, requested_at=datetime.now(UTC),
    )  # fmt: skip
    _snapshot(modification, seen)
    session.add(modification)
    session.flush()
    activity.record(
        session, "loan.modification_requested", user_id=borrower_id, entity=modification,
        loan_id=loan.id, kind=kind.value, terms=seen.terms,
    )  # fmt: skip
    notifications.notify_admins(
        session, "hardship.requested", f"Hardship request on loan #{loan.id}",
        f"The borrower asks for a {describe_kind(kind)}.",
        link=("admin.hardship_show", {"modification_id": modification.id}),
        dedupe_key=f"hardship-requested-{modification.id}", email=False,
    )  # fmt: skip
    return modification


def _check_noneopen_plan(session: Session, loan: Loan) -> None:
    if session.scalar(
        select(LoanModification.id).where(
            LoanModification.loan_id == loan.id, LoanModification.state.in_(OPEN_STATES)
        )
    ):
        raise DomainError(f"Loan #{loan.id} already has a plan waiting for a decision.")


def _snapshot(modification: LoanModification, seen: Preview) -> None:
    modification.terms = seen.terms
    modification.old_schedule, modification.new_schedule = seen.old, seen.new
    modification.cost_difference = seen.cost_difference


def locked_loan(session: Session, loan_id: int) -> Loan:
    loan = session.get(Loan, loan_id, with_for_update=True, populate_existing=True)
    if loan is None:
        raise DomainError(f"No loan #{loan_id}.")
    return loan


def describe_kind(kind: ModificationKind) -> str:
    return {
        ModificationKind.HOLIDAY: "payment holiday",
        ModificationKind.REAMORTISATION: "lower payment over a longer term",
        ModificationKind.RATE_REDUCTION: "rate reduction",
        ModificationKind.SETTLEMENT: "settlement for less",
    }[kind]


def offer(
    session: Session,
    modification_id: int,
    admin_id: int,
    today: date,
    params: dict | None = None,
    reason: str = "",
    policy: LendingPolicy = DEFAULT_POLICY,
) -> LoanModification:
    """An admin approves the request, on its terms or adjusted ones; the borrower decides."""
    modification = open_plan(session, modification_id, ModificationState.REQUESTED)
    loan = locked_loan(session, modification.loan_id)
    seen = preview(
        session, loan, modification.kind, params or stored_params(modification), today, policy
    )
    _snapshot(modification, seen)
    modification.state = ModificationState.OFFERED
    modification.approved_by, modification.approved_at = admin_id, datetime.now(UTC)
    modification.decision_reason = (reason or "").strip() or None
    activity.record(
        session, "loan.modification_offered", user_id=admin_id, entity=modification,
        loan_id=loan.id, terms=seen.terms, cost_difference=str(seen.cost_difference),
    )  # fmt: skip
    notifications.notify(
        session, loan.borrower_id, "hardship.offered", "Your plan is ready",
        f"We can offer a {describe_kind(modification.kind)} on loan #{loan.id}: review and accept it.",
        link=("borrower.hardship_show", {"loan_id": loan.id, "modification_id": modification.id}),
        dedupe_key=f"hardship-offered-{modification.id}",
    )  # fmt: skip
    return modification


def stored_params(modification: LoanModification) -> dict:
    """The stored terms back as the plan functions take them."""
    terms = modification.terms
    params = {key: terms[key] for key in ("months", "term") if key in terms}
    for key in ("reduced_rate", "amount"):
        if key in terms:
            params[key] = Decimal(terms[key])
    return params


def open_plan(session: Session, modification_id: int, *states) -> LoanModification:
    modification = session.get(LoanModification, modification_id, with_for_update=True)
    if modification is None:
        raise DomainError(f"No plan #{modification_id}.")
    if modification.state not in (states or OPEN_STATES):
        raise DomainError(f"This plan is {modification.state.value}: nothing more to decide.")
    return modification


def decline(
    session: Session, modification_id: int, user_id: int, reason: str, *, by_borrower=False
) -> LoanModification:
    """An admin declines a request (with a reason), or the borrower declines or withdraws."""
    if not by_borrower and not (reason or "").strip():
        raise ValidationFailed({"reason": "Say why the request is declined."})
    modification = open_plan(session, modification_id)
    loan = session.get(Loan, modification.loan_id)
    if by_borrower and loan.borrower_id != user_id:
        raise DomainError(f"No plan #{modification_id}.")
    withdrawn = by_borrower and modification.state is ModificationState.REQUESTED
    modification.state = ModificationState.WITHDRAWN if withdrawn else ModificationState.DECLINED
    modification.decided_at = datetime.now(UTC)
    modification.decision_reason = (reason or "").strip() or modification.decision_reason
    activity.record(
        session, f"loan.modification_{modification.state.value}", user_id=user_id,
        entity=modification, loan_id=loan.id, reason=modification.decision_reason,
    )  # fmt: skip
    if not by_borrower:
        notifications.notify(
            session, loan.borrower_id, "hardship.declined", "Your request was declined",
            f"We could not agree a plan on loan #{loan.id}: {modification.decision_reason}",
            link=("borrower.loan_show", {"loan_id": loan.id}),
            dedupe_key=f"hardship-declined-{modification.id}",
        )  # fmt: skip
    return modification


def accept(
    session: Session,
    modification_id: int,
    borrower_id: int,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> LoanModification:
    """The borrower accepts the offered plan and the loan changes, in this transaction.

    The plan is recomputed now: if the loan moved since the offer (a payment, a fee, time)
    and the schedule would differ from the one offered, the offer lapses instead."""
    modification = open_plan(session, modification_id, ModificationState.OFFERED)
    loan = locked_loan(session, modification.loan_id)
    if loan.borrower_id != borrower_id:
        raise DomainError(f"No plan #{modification_id}.")
    expires = modification.approved_at.date().toordinal() + policy.hardship_offer_days
    try:
        seen = preview(session, loan, modification.kind, stored_params(modification), today, policy)
    except DomainError:
        seen = None
    if today.toordinal() > expires or seen is None or not _same(seen, modification):
        modification.state, modification.decided_at = ModificationState.EXPIRED, datetime.now(UTC)
        return modification
    modification.accepted_by, modification.accepted_at = borrower_id, datetime.now(UTC)
    if modification.kind is ModificationKind.SETTLEMENT:  # applied when the money arrives
        modification.state = ModificationState.ACCEPTED
        notifications.notify_admins(
            session, "hardship.agreed", f"Settlement agreed on loan #{loan.id}",
            f"Record the ${Decimal(seen.terms['amount']):,.2f} lump sum when it arrives.",
            link=("admin.hardship_show", {"modification_id": modification.id}),
            dedupe_key=f"hardship-agreed-{modification.id}", email=False,
        )  # fmt: skip
        return modification
    modification.state = ModificationState.APPLIED
    modification_apply.apply(session, loan, modification, seen, today, policy)
    return modification


def _same(seen: Preview, modification: LoanModification) -> bool:
    return seen.new == modification.new_schedule and seen.terms == modification.terms
