"""URLs for the (endpoint, arguments) links services hand out: on pages and, absolute, in email."""

import re
from urllib.parse import urlsplit, urlunsplit

from flask import current_app, url_for

from app.models import Notification


def notification_url(notification: Notification, *, external: bool = False) -> str | None:
    """Where the notification points, or None; `external` uses PUBLIC_URL (no request needed)."""
    if not notification.link_endpoint:
        return None
    arguments = notification.link_args or {}
    if not external:
        return url_for(notification.link_endpoint, **arguments)
    return external_url(notification.link_endpoint, arguments)


def external_url(endpoint: str, arguments: dict) -> str:
    """An absolute URL on PUBLIC_URL, built without a request (emails, jobs)."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        public.netloc, script_name=public.path or "/", url_scheme=public.scheme
    )
    return adapter.build(endpoint, arguments, force_external=True)


# Browsers drop tabs and newlines anywhere in a URL and strip control characters and spaces at
# its ends ("/\t/evil.example" is "//evil.example" to them); a backslash reads as a slash.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: the one check for every `next`.

    Anything a browser would read differently from us (control characters, spaces, backslashes)
    or that names a scheme or a host ("//evil.example", "https:…", "javascript:…") is refused,
    not repaired."""
    if not target or len(target) > 2000 or _UNSAFE.search(target) or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))
