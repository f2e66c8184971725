"""JSON API v1 under /api/v1: bearer tokens, JSON errors, OpenAPI generated from the schemas."""

from . import (
    original,  # noqa: F401 - the original design's paths under /api
    routes_accounts,  # noqa: F401 - registers the account endpoints
    routes_loans,  # noqa: F401 - registers the loan endpoints
    routes_ml,  # noqa: F401 - registers the risk endpoints
    routes_money,  # noqa: F401 - registers investing and payments
    routes_notifications,  # noqa: F401 - registers the notifications
    routes_scheduled,  # noqa: F401 - registers payments on a date and autopay
    routes_secondary,  # noqa: F401 - registers the secondary market
)
from .routes import bp, pages  # noqa: F401
