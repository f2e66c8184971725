from . import (
    routes_imports,  # noqa: F401 - registers the CSV import pages
    routes_ops,  # noqa: F401 - registers the operations pages
    routes_review,  # noqa: F401 - registers the review queues
    routes_risk,  # noqa: F401 - registers the model-card routes
)
from .routes import bp  # noqa: F401
