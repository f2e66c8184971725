"""Admin pages: dashboard, review queues, people, loan servicing, operations, imports and the risk model card."""

from . import (
    routes_collections,  # noqa: F401 - registers the collections queue
    routes_hardship,  # noqa: F401 - registers the hardship queue
    routes_imports,  # noqa: F401 - registers the CSV import pages
    routes_loans,  # noqa: F401 - registers the loan servicing actions
    routes_notices,  # noqa: F401 - registers the human-review queue
    routes_ops,  # noqa: F401 - registers the operations pages
    routes_payouts,  # noqa: F401 - registers the payout queue
    routes_review,  # noqa: F401 - registers the review queues
    routes_risk,  # noqa: F401 - registers the model-card routes
    routes_users,  # noqa: F401 - registers the people pages
)
from .routes import bp  # noqa: F401
