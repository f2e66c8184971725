from . import routes_loans  # noqa: F401 - registers the loan pages
from .routes import bp  # noqa: F401
