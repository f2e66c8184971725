"""Accounts on the web: registration, sign-in, passwords, profile, documents and notifications."""

from . import (
    routes_documents,  # noqa: F401 - registers the document pages
    routes_mfa,  # noqa: F401 - registers two-step sign-in
    routes_notifications,  # noqa: F401 - registers the notification pages
    routes_oauth,  # noqa: F401 - registers sign-in with Google
    routes_passkeys,  # noqa: F401 - registers passkey sign-in and set-up
    routes_password,  # noqa: F401 - registers the forgotten-password pages
    routes_signins,  # noqa: F401 - registers the sessions-and-tokens page
    routes_statements,  # noqa: F401 - registers the statements pages
)
from .routes import bp  # noqa: F401
