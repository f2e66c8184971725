"""How money, rates and dates read on the page."""

import enum
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")


def money(value: Decimal | None) -> str:
    """$1,234.50 (negative as -$1,234.50); an em dash for nothing."""
    if value is None:
        return "—"
    amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def pct(value: Decimal | None, places: int = 2) -> str:
    """10.99% from a percent figure such as Decimal('10.990')."""
    if value is None:
        return "—"
    quantum = Decimal(1).scaleb(-places)
    return f"{Decimal(value).quantize(quantum, rounding=ROUND_HALF_EVEN)}%"


# States whose code names read badly as words ("late 16 30"); the rest read as they are.
STATUS_NAMES = {
    "late_16_30": "late 16–30 days",
    "late_31_120": "late 31–120 days",
    "grace": "in grace period",
    "pending_approval": "pending approval",
    "charged_off": "charged off",
    "paid_off": "paid off",
    "default": "in default",
}


def status_name(value: enum.Enum | str | None) -> str:
    """A loan's or installment's state in words: 'late 16–30 days', not 'late_16_30'."""
    if value is None:
        return "—"
    code = value.value if isinstance(value, enum.Enum) else str(value)
    return STATUS_NAMES.get(code, code.replace("_", " "))


def when(value: datetime | None, seconds: bool = False) -> str:
    """Jan 29, 2027 14:05 (UTC, as stored): a moment, written like a day plus the time."""
    if value is None:
        return "—"
    return f"{day(value)} {value:%H:%M:%S}" if seconds else f"{day(value)} {value:%H:%M}"


def day(value: date | None) -> str:
    """Jan 29, 2027 (a schedule's or a birth date), not 2027-01-29."""
    if value is None:
        return "—"
    return f"{value:%b} {value.day}, {value.year}"
