"""Borrower pages: applying with a live preview, the offer and decision, the loan and paying it."""

from . import (  # noqa: F401 - registers the pages
    routes_hardship,
    routes_loans,
    routes_notices,
    routes_scheduled,
)
from .routes import bp  # noqa: F401
