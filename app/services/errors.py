"""Domain errors raised by services; views turn them into field errors or messages."""


class DomainError(Exception):
    """A business rule said no. `field` names the form field it belongs to, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    """Input broke a rule; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class InsufficientFunds(DomainError):
    """A lender's available cash does not cover the amount."""


class LedgerError(DomainError):
    """A posting that would break double entry (never shown to users as such)."""


class IdempotencyMismatch(DomainError):
    """The same idempotency key came back with a different request."""


class ListingClosed(DomainError):
    """The loan is not taking investments (not listed, funded, or past its deadline)."""


class TradeConflict(DomainError):
    """The note on sale is no longer what the buyer saw: sold, withdrawn, repriced or worse."""
