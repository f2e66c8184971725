"""URLs for the (endpoint, arguments) links services hand out: on pages and, absolute, in email."""

from urllib.parse import urlsplit

from flask import current_app, url_for

from app.models import Notification


def notification_url(notification: Notification, *, external: bool = False) -> str | None:
    """Where the notification points, or None; `external` uses PUBLIC_URL (no request needed)."""
    if not notification.link_endpoint:
        return None
    arguments = notification.link_args or {}
    if not external:
        return url_for(notification.link_endpoint, **arguments)
    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        public.netloc, script_name=public.path or "/", url_scheme=public.scheme
    )
    return adapter.build(notification.link_endpoint, arguments, force_external=True)
