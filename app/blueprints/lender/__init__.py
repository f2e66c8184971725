"""Lender pages: cash, the marketplace and investing, the portfolio, recommendations and preferences."""

from . import (
    routes_market,  # noqa: F401 - registers the marketplace pages
    routes_portfolio,  # noqa: F401 - registers the portfolio pages
    routes_strategies,  # noqa: F401 - registers strategies, exit and diversification
    routes_trading,  # noqa: F401 - registers the secondary market pages
)
from .routes import bp  # noqa: F401
