"""Borrower pages: applying with a live preview, the offer and decision, the loan and paying it."""

from . import routes_loans, routes_notices, routes_scheduled  # noqa: F401 - registers the pages
from .routes import bp  # noqa: F401
