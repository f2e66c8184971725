"""Columns stored sealed (AES-GCM): the database holds no plaintext of what they keep.

The key ring (`services.platform.sealing.KeyRing`) is handed over once per process by the app
factory (`use`); values are sealed as they are written and opened as they are read, so code
above sees plain strings and dates. What such a column cannot do is compare in SQL: nothing
filters or sorts on them (a test keeps it so).
"""

from datetime import date

from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

_ring = None


def use(ring) -> None:
    """The key ring every sealed column of this process uses (set by the app factory)."""
    global _ring
    _ring = ring


def ring():
    if _ring is None:
        raise RuntimeError("no key ring: create the app first (sealed columns need its keys)")
    return _ring


class SealedText(TypeDecorator):
    """A string, stored sealed for `purpose` (the column it belongs to)."""

    impl = Text
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        return None if value is None else ring().seal(str(value), self.purpose)

    def process_result_value(self, value, dialect):
        return None if value is None else ring().open(value, self.purpose)


class SealedDate(SealedText):
    """A date, stored sealed (as its ISO text)."""

    def process_bind_param(self, value, dialect):
        return None if value is None else ring().seal(value.isoformat(), self.purpose)

    def process_result_value(self, value, dialect):
        return None if value is None else date.fromisoformat(ring().open(value, self.purpose))
