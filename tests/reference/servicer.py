"""A reference loan servicer, written from docs/lending-rules.md alone.

Deliberately simple: one loan, plain Decimals, a day at a time, no database and nothing imported
from `app/`. The suite drives it beside the product and compares them after every business day,
so a rule the product gets wrong has to be got wrong twice, independently, to pass.
"""

import calendar
import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
GRACE_DAYS, DEFAULT_DAYS, CHARGE_OFF_DAYS = 15, 121, 150
LATE_FEE_FLOOR, LATE_FEE_SHARE = Decimal("15.00"), Decimal("0.05")
SERVICING_FEE = Decimal("0.01")
FEE_CAP_MONTHS = 12


def cents_down(value: Fraction) -> Decimal:
    """Down to the cent: interest under LendingClub's convention (the payment rounds up)."""
    return (Decimal(math.floor(value * 100)) / 100).quantize(CENT)


def cents(value: Decimal | Fraction) -> Decimal:
    """Half-even to the cent, from an exact value (Fractions keep every division exact)."""
    if isinstance(value, Fraction):
        return (Decimal(round(value * 100)) / 100).quantize(CENT)  # round() is half-even
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def add_months(day: date, months: int, on_day: int) -> date:
    """`on_day` of the month `months` after `day`'s, clamped to that month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(on_day, calendar.monthrange(year, month)[1]))


def days_360(start: date, end: date) -> int:
    """30/360 (US): the last day of February and the 31st count as the 30th."""

    def last_of_february(day: date) -> bool:
        return day.month == 2 and day.day == calendar.monthrange(day.year, 2)[1]

    d1, d2 = start.day, end.day
    if last_of_february(start) and last_of_february(end):
        d2 = 30
    if last_of_february(start):
        d1 = 30
    if d2 == 31 and d1 >= 30:
        d2 = 30
    if d1 == 31:
        d1 = 30
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1


@dataclass
class Installment:
    number: int
    due: date
    start: date  # interest accrues from here to `due`
    principal: Decimal
    interest: Decimal
    settled: Decimal = ZERO  # interest for the days before `start`
    fee: Decimal = ZERO
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    fee_paid: Decimal = ZERO
    state: str = "scheduled"  # scheduled, due, late, paid, cancelled
    fee_charged: bool = False

    @property
    def open(self) -> bool:
        return self.state in ("scheduled", "due", "late")

    @property
    def scheduled_left(self) -> Decimal:
        return self.principal + self.interest - self.principal_paid - self.interest_paid

    def earned(self, day: date) -> Decimal:
        """Interest earned by `day`: straight-line over the 30/360 days of its period."""
        if day >= self.due or days_360(self.start, self.due) <= 0:
            return self.interest
        part = Fraction(max(days_360(self.start, day), 0), days_360(self.start, self.due))
        return self.settled + cents(Fraction(self.interest - self.settled) * min(part, 1))


@dataclass
class Receipt:
    """One payment as the loan and the notes should see it."""

    amount: Decimal
    late_fee: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO
    recovery: Decimal = ZERO
    early_principal: Decimal = ZERO


class Refused(Exception):
    pass


class ReferenceLoan:
    def __init__(self, amount: Decimal, rate: Decimal, term: int, issued: date):
        self.amount, self.rate, self.issued = amount, rate, issued
        monthly = rate / 1200
        with localcontext() as context:
            context.prec = 34
            raw = amount * monthly / (1 - (1 + monthly) ** -term) if monthly else amount / term
        self.payment = raw.quantize(CENT, rounding=ROUND_CEILING)  # LendingClub rounds up
        self.installments = []
        balance, start = amount, issued
        for number in range(1, term + 1):
            due = add_months(issued, number, issued.day)
            interest = cents_down(Fraction(balance) * Fraction(rate) / 1200)
            principal = balance if number == term else min(self.payment - interest, balance)
            self.installments.append(Installment(number, due, start, principal, interest))
            balance -= principal
            start = due
        self.principal_left = amount
        self.state = "current"
        self.days_past_due = 0
        self.recovered = ZERO
        self.principal_repaid = ZERO

    # -- the daily cycle ---------------------------------------------------------------

    def run_day(self, day: date) -> None:
        if self.state in ("charged_off", "paid_off"):
            return
        for inst in self.installments:
            if inst.state == "scheduled" and inst.due <= day:
                inst.state = "due"
            if (
                inst.state in ("due", "late")
                and not inst.fee_charged
                and (day - inst.due).days >= GRACE_DAYS + 1
                and inst.scheduled_left > 0
            ):
                inst.fee += max(LATE_FEE_FLOOR, cents(inst.scheduled_left * LATE_FEE_SHARE))
                inst.fee_charged, inst.state = True, "late"
        self._age(day)
        if self.days_past_due >= CHARGE_OFF_DAYS:
            self.state = "charged_off"
            self.principal_left = ZERO

    def _age(self, day: date) -> None:
        overdue = [i.due for i in self.installments if i.state in ("due", "late") and i.due < day]
        self.days_past_due = (day - min(overdue)).days if overdue else 0
        dpd = self.days_past_due
        if dpd == 0:
            self.state = "current"
        elif dpd <= GRACE_DAYS:
            self.state = "grace"
        elif dpd <= 30:
            self.state = "late_16_30"
        elif dpd < DEFAULT_DAYS:
            self.state = "late_31_120"
        else:
            self.state = "default"

    # -- what is owed ----------------------------------------------------------------

    def _running(self, day: date) -> Installment | None:
        return next((i for i in self.installments if i.open and i.due > day), None)

    def payoff(self, day: date) -> Decimal:
        open_ = [i for i in self.installments if i.open]
        owed = sum((i.principal - i.principal_paid for i in open_), ZERO)
        owed += sum((i.interest - i.interest_paid for i in open_ if i.due <= day), ZERO)
        owed += sum((i.fee - i.fee_paid for i in self.installments), ZERO)
        running = self._running(day)
        if running:
            owed += max(running.earned(day) - running.interest_paid, ZERO)
        return owed

    def recoverable(self) -> Decimal:
        return self.amount - self.principal_repaid - self.recovered

    # -- a payment -------------------------------------------------------------------

    def pay(self, amount: Decimal, day: date) -> Receipt:
        if self.state == "paid_off":
            raise Refused("not being repaid")
        if self.state == "charged_off":
            if amount > self.recoverable():
                raise Refused("more than is owed")
            self.recovered += amount
            return Receipt(amount, recovery=amount)
        if amount > self.payoff(day):
            raise Refused("more than the payoff")
        receipt = Receipt(amount)
        left = amount
        for inst in [i for i in self.installments if i.open and i.due <= day]:
            left = self._take(inst, "interest", left, receipt)
            left = self._take(inst, "principal", left, receipt)
        running = self._running(day)
        early = ZERO
        if running:
            cap = max(running.earned(day) - running.interest_paid, ZERO)
            left = self._take(running, "interest", left, receipt, cap)
            before = left
            left = self._take(running, "principal", left, receipt)
            early = before - left
        for inst in self.installments:
            left = self._take(inst, "fee", left, receipt)
        if early or left:
            self._end_period(running, left, day)
            receipt.principal += left
        receipt.early_principal = early + left
        self.principal_left -= receipt.principal
        self.principal_repaid += receipt.principal
        for inst in self.installments:
            if inst.open and inst.scheduled_left == 0:
                inst.state = "paid"
        fees_owed = sum((i.fee - i.fee_paid for i in self.installments), ZERO)
        if self.principal_left == 0 and fees_owed == 0:
            self.state, self.days_past_due = "paid_off", 0
        else:
            self._age(day)
        return receipt

    def _take(self, inst, part, left, receipt, cap=None) -> Decimal:
        owed = getattr(inst, part) - getattr(inst, f"{part}_paid")
        taking = min(owed, left) if cap is None else min(owed, left, cap)
        if taking <= 0:
            return left
        setattr(inst, f"{part}_paid", getattr(inst, f"{part}_paid") + taking)
        name = "late_fee" if part == "fee" else part
        setattr(receipt, name, getattr(receipt, name) + taking)
        return left - taking

    def _end_period(self, running: Installment, prepaid: Decimal, day: date) -> None:
        later = [i for i in self.installments if i.open and i.number > running.number]
        if running.principal_paid < running.principal:
            balance = sum((i.principal - i.principal_paid for i in [running, *later]), ZERO)
            running.settled = running.interest_paid
            running.interest = running.interest_paid + self._interest(
                balance, days_360(day, running.due)
            )
            running.start = day
            return
        running.interest = running.interest_paid
        balance = sum((i.principal for i in later), ZERO) - prepaid
        for index, inst in enumerate(later):
            if balance == 0:
                inst.principal = inst.interest = ZERO
                inst.state = "cancelled"
                continue
            if index == 0:
                inst.start, inst.settled = day, ZERO
            days = days_360(inst.start, inst.due) if index == 0 else 30
            inst.interest = self._interest(balance, days)
            last = index == len(later) - 1
            inst.principal = (
                balance if last else max(min(self.payment - inst.interest, balance), ZERO)
            )
            balance -= inst.principal

    def _interest(self, balance: Decimal, days: int) -> Decimal:
        return cents_down(Fraction(balance) * Fraction(self.rate) * days / 36000)

    # -- the noteholders' side ----------------------------------------------------------

    def note_fee(self, received: Decimal, weight: Decimal, receipt: Receipt, day: date) -> Decimal:
        """The servicing fee on one note's share `received` (weight: its share of the loan)."""
        if day >= add_months(self.issued, FEE_CAP_MONTHS, self.issued.day):
            return cents(received * SERVICING_FEE)
        early = receipt.early_principal * weight
        regular = (received - early) * SERVICING_FEE
        cap = self.payment * weight * SERVICING_FEE
        return cents(regular + min(early * SERVICING_FEE, max(cap - regular, ZERO)))
