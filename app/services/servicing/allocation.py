"""Where a payment lands on a loan's installments, and what pays the loan off.

Plain rules over the loan's installments (no queries, no ledger). A payment pays, in order:

1. overdue scheduled amounts (due on or before the payment date): interest, then principal,
   oldest installment first, so the oldest installment is cured first;
2. the running installment (not yet due): its interest accrued to the day (30/360), then its
   principal;
3. unpaid late fees, oldest first. A fee never takes money a scheduled amount needs, so a
   payment of the scheduled amount never leaves an installment late (no pyramiding);
4. the spread holiday interest of later installments (`deferred_interest_due`, earned during
   the holiday, owed in full), earliest installment first: moved onto the running installment
   as paid interest;
5. principal beyond the running installment (a prepayment: same payment, fewer installments).

An installment's spread share is earned already: it is owed in full however early the loan is
paid, and within its installment it is paid before the regular interest.

Paying the running installment's principal early ends its period that day: the next
installment's interest runs from the payment date on the new balance, so no day's interest
is charged twice and none is skipped. The payoff quote is exactly what this order takes.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.models import Installment, InstallmentStatus
from app.services.errors import DomainError
from app.services.money.money import ZERO
from app.services.servicing import amortization

OPEN = (InstallmentStatus.SCHEDULED, InstallmentStatus.DUE, InstallmentStatus.LATE)


@dataclass(frozen=True)
class PayoffQuote:
    principal: Decimal
    interest: Decimal
    fees: Decimal
    total: Decimal
    as_of: date


@dataclass
class Applied:
    """How one payment lands on the loan, before it is split across notes."""

    late_fee: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO
    recovery: Decimal = ZERO
    prepaid: Decimal = ZERO  # principal paid before its due date (the fee cap's base)
    touched: list[Installment] = field(default_factory=list)


def quote(installments: list[Installment], annual_rate: Decimal, as_of: date) -> PayoffQuote:
    """What pays the loan off on `as_of`: every unpaid principal, the interest due and the
    running installment's interest accrued to the day, the unpaid spread holiday interest of
    the installments not yet due, and unpaid late fees."""
    open_ = [i for i in installments if i.status in OPEN]
    running = _running(open_, as_of)
    interest = sum((i.interest_due - i.interest_paid for i in open_ if i.due_date <= as_of), ZERO)
    if running is not None:
        interest += accrued_unpaid(running, as_of)
        interest += sum((share_unpaid(i) for i in open_ if i.number > running.number), ZERO)
    principal = sum((i.principal_due - i.principal_paid for i in open_), ZERO)
    fees = sum((i.fee_due - i.fee_paid for i in installments), ZERO)
    return PayoffQuote(principal, interest, fees, principal + interest + fees, as_of)


def accrued_unpaid(installment: Installment, as_of: date) -> Decimal:
    """Interest of `installment` earned by `as_of` and not yet paid: its spread holiday share
    in full, and its regular interest accrued to the day."""
    share = installment.deferred_interest_due
    earned = share + amortization.accrued_interest(
        installment.interest_due - share,
        max(installment.interest_settled - share, ZERO),
        installment.accrual_start,
        installment.due_date,
        as_of,
    )
    return max(earned - installment.interest_paid, ZERO)


def share_unpaid(installment: Installment) -> Decimal:
    """The part of an installment's spread holiday interest not yet paid (paid first)."""
    share = installment.deferred_interest_due
    return share - min(installment.interest_paid, share)


def allocate(
    installments: list[Installment],
    amount: Decimal,
    on: date,
    *,
    annual_rate: Decimal,
    monthly_payment: Decimal,
    interest_rounding: str,
) -> Applied:
    """Apply `amount` received `on` to the installments (mutating them); see the module doc.

    `interest_rounding` rounds the interest of periods an early payment rebuilds, as the
    schedule's were (`amortization.interest_rounding`)."""
    total = quote(installments, annual_rate, on).total
    if amount > total:
        raise DomainError(
            f"That is more than the ${total:,.2f} that pays the loan off.", field="amount"
        )
    open_ = [i for i in installments if i.status in OPEN]
    applied = Applied(touched=list(installments))
    left = amount
    for installment in (i for i in open_ if i.due_date <= on):
        left = _pay(installment, "interest", left, applied)
        left = _pay(installment, "principal", left, applied)
    running = _running(open_, on)
    paid_early = ZERO
    if running is not None:
        left = _pay(running, "interest", left, applied, limit=accrued_unpaid(running, on))
        before = left
        left = _pay(running, "principal", left, applied)
        paid_early = before - left
    for installment in installments:
        left = _pay(installment, "fee", left, applied)
    if paid_early or left:
        later = [i for i in open_ if i.number > running.number]
        left = _collect_shares(running, later, left, applied)
        _end_period(running, later, left, on, (annual_rate, monthly_payment, interest_rounding))
        applied.principal += left
        applied.prepaid += paid_early + left
    return applied


def _collect_shares(running, later, left, applied) -> Decimal:
    """Money beyond the running installment pays the later installments' unpaid spread shares
    first (earliest first): each part paid moves onto the running installment as paid
    interest, so a rebuilt or cancelled later installment cannot drop it."""
    for installment in later:
        moving = min(share_unpaid(installment), left)
        if moving > 0:
            installment.interest_due -= moving
            installment.deferred_interest_due -= moving
            running.interest_due += moving
            running.deferred_interest_due += moving
            running.interest_paid += moving
            applied.interest += moving
            left -= moving
    return left


def _end_period(running, later, prepaid, on, terms) -> None:
    """Principal paid before its due date ends the running period's interest today.

    Paid in full, the installment is settled with the interest earned so far and the later
    installments are rebuilt from today (with what was prepaid beyond it). Paid in part, its
    interest for the rest of the period is on the balance left.
    """
    if running.principal_paid == running.principal_due:
        running.interest_due = running.interest_paid
        _reamortize(later, prepaid, on, terms)
        return
    assert not prepaid, "money beyond the running installment must have paid it"
    balance = sum((i.principal_due - i.principal_paid for i in [running, *later]), ZERO)
    running.interest_settled = running.interest_paid
    annual_rate, _, rounding = terms
    running.interest_due = running.interest_paid + amortization.period_interest(
        balance, annual_rate, amortization.days_30_360(on, running.due_date), rounding
    )
    running.accrual_start = on


def _reamortize(later, prepaid, on, terms) -> None:
    """Same payment, fewer installments: rebuild the later installments from the balance left,
    the first one's interest running from `on`. `terms`: (annual rate, payment, rounding)."""
    annual_rate, monthly_payment, rounding = terms
    if not later:
        if prepaid:
            raise DomainError("A prepayment beyond the last installment.")
        return
    balance = sum((i.principal_due for i in later), ZERO) - prepaid
    plans = (
        amortization.amortize(
            balance,
            annual_rate,
            monthly_payment,
            later[0].due_date,
            first_number=later[0].number,
            max_installments=len(later),
            first_period_days=amortization.days_30_360(on, later[0].due_date),
            rounding=rounding,
        )
        if balance
        else []
    )
    later[0].accrual_start, later[0].interest_settled = on, ZERO
    kept, dropped = later[: len(plans)], later[len(plans) :]
    carried = sum((i.deferred_interest_due for i in dropped), ZERO)
    if carried and not kept:
        raise DomainError("Spread holiday interest is still owed.")
    if carried:  # the shares of cancelled installments stay owed, on the last one kept
        kept[-1].deferred_interest_due += carried
    for installment, plan in zip(kept, plans, strict=True):
        installment.principal_due = plan.principal
        installment.interest_due = plan.interest + installment.deferred_interest_due
    for installment in dropped:
        installment.principal_due = installment.interest_due = ZERO
        installment.deferred_interest_due = ZERO
        installment.status = InstallmentStatus.CANCELLED


def _running(open_: list[Installment], on: date) -> Installment | None:
    """The installment whose period is running on `on` (the first not yet due)."""
    return next((i for i in open_ if i.due_date > on), None)


def _pay(
    installment: Installment,
    part: str,
    left: Decimal,
    applied: Applied,
    limit: Decimal | None = None,
) -> Decimal:
    owed = getattr(installment, f"{part}_due") - getattr(installment, f"{part}_paid")
    paying = min(owed, left, owed if limit is None else limit)
    if paying > 0:
        setattr(installment, f"{part}_paid", getattr(installment, f"{part}_paid") + paying)
        name = "late_fee" if part == "fee" else part
        setattr(applied, name, getattr(applied, name) + paying)
    return left - paying
