"""How money, rates and dates read on the page."""

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
