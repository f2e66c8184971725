"""A statement's period: business dates [start, end), read as UTC midnights on the ledger's
`effective_date` (the business date every writer records)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from app.services.servicing.amortization import add_months


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # the first day after the period

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time.min, tzinfo=UTC)

    @property
    def bounds(self) -> dict:
        return {"start": self.start_at, "end": self.end_at}


def month(year: int, number: int) -> Period:
    start = date(year, number, 1)
    return Period(start, add_months(start, 1))


def year(number: int) -> Period:
    return Period(date(number, 1, 1), date(number + 1, 1, 1))


def previous_month(today: date) -> Period:
    """The calendar month before the one `today` is in."""
    first = today.replace(day=1)
    return Period(add_months(first, -1), first)


def month_label(start: date) -> str:
    return f"{start:%B %Y}"
