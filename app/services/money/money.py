"""Money rules: reading an amount as typed, Decimal throughout, half-even to the cent."""

import re
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("1000000000")
# Plain digits only: Decimal() would also read NaN, Infinity, 1e100 and other scripts' digits.
PLAIN_NUMBER = re.compile(r"-?([0-9]*)(?:\.([0-9]*))?")
PLACES = {1: "one decimal place", 2: "two decimal places", 3: "three decimal places"}


def parse_amount(
    text: str,
    *,
    places: int = 2,
    limit: Decimal = MAX_AMOUNT,
    what: str = "an amount in dollars and cents",
) -> Decimal:
    """Read a number as people type one ("1500", "12.50", "-3"); ValueError with a message if not.

    Refused: NaN, Infinity, exponents (1e100), digits of other scripts, more than `places`
    decimals, and anything beyond `limit` either side of zero.
    """
    match = PLAIN_NUMBER.fullmatch(text.strip())
    if match is None or not (match[1] or match[2]):
        raise ValueError(f"Enter {what}.")
    if len(match[2] or "") > places:
        raise ValueError(f"Use at most {PLACES.get(places, f'{places} decimal places')}.")
    number = Decimal(match[0])
    if abs(number) > limit:
        raise ValueError(f"Enter at most {limit:,}.")
    return number


def cents(value: Decimal) -> Decimal:
    """Round to the cent, half to even (the platform's one rounding mode)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def floor_cents(value: Decimal) -> Decimal:
    """Round down to the cent."""
    return value.quantize(CENT, rounding=ROUND_FLOOR)


def split_largest_remainder(
    total_to_date: Decimal,
    weights: dict[int, Decimal],
    paid_to_date: dict[int, Decimal],
) -> dict[int, Decimal]:
    """This round's share of each holder so cumulative shares track the exact pro-rata split.

    Each holder's exact entitlement to date is `total_to_date * weight / sum(weights)`; its
    share now is that minus what it was already paid, floored to the cent, and the leftover
    cents go to the largest fractional parts (ties: lowest id). So every round sums exactly
    and every holder stays within one cent of its exact cumulative share.
    """
    weight_sum = sum(weights.values())
    if weight_sum <= 0:
        raise ValueError("weights must sum to more than zero")
    wanted = {
        key: total_to_date * weight / weight_sum - paid_to_date.get(key, ZERO)
        for key, weight in weights.items()
    }
    amount = total_to_date - sum((paid_to_date.get(key, ZERO) for key in weights), ZERO)
    shares = {key: max(floor_cents(value), ZERO) for key, value in wanted.items()}
    leftover = int((amount - sum(shares.values(), ZERO)) / CENT)
    # Leftover cents go to whoever is furthest below their exact share (ties: lowest id).
    by_fraction = sorted(wanted, key=lambda key: (-(wanted[key] - shares[key]), key))
    if leftover >= 0:
        for key in by_fraction[:leftover]:
            shares[key] += CENT
    else:  # only when clipping at zero over-allocated tiny amounts
        for key in reversed(by_fraction):
            if leftover == 0:
                break
            if shares[key] > ZERO:
                shares[key] -= CENT
                leftover += 1
    return shares


def to_cents(amount: Decimal) -> int:
    """Whole cents, as payment providers count (refuses fractions of a cent)."""
    whole = amount * 100
    if whole != whole.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(whole)


def from_cents(count: int) -> Decimal:
    """Dollars and cents from a provider's whole-cent count."""
    return (Decimal(count) / 100).quantize(CENT)
