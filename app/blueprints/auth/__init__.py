from . import (
    routes_documents,  # noqa: F401 - registers the document pages
    routes_notifications,  # noqa: F401 - registers the notification pages
)
from .routes import bp  # noqa: F401
