"""HTMX request detection and responses: the only module that spells HX-* headers."""

import json

from flask import Response, make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """True when htmx (not a history restore) asked for a fragment."""
    return request.headers.get("HX-Request") == "true"


def render(
    template: str,
    block: str | None = None,
    *,
    status: int = 200,
    trigger: str | dict | None = None,
    **context,
) -> Response:
    """Render the whole page, or just `block` when htmx asked for it."""
    if block is not None and is_htmx():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    if trigger:
        response.headers["HX-Trigger"] = (
            trigger if isinstance(trigger, str) else json.dumps(trigger)
        )
    return response


def stop_polling(response: Response) -> Response:
    """286: htmx stops an `every Ns` poll after swapping this last answer in."""
    response.status_code = 286
    return response


def hx_redirect(url: str) -> Response:
    """Full navigation after an htmx request (a 3xx would be followed inside the XHR)."""
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": url})
    return redirect(url, 303)


def hx_login_required(login_url: str) -> Response:
    """htmx processes HX-Redirect before status handling, so a 401 still navigates."""
    return Response(status=401, headers={"HX-Redirect": login_url})


def to_flash_region(response: Response) -> Response:
    """Show this answer in the page's flash region, leaving the element that asked as it was."""
    response.headers["HX-Retarget"] = "#flash"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def trigger_id() -> str | None:
    """The id of the element whose htmx request this is (a form's id when a form was sent)."""
    return request.headers.get("HX-Trigger") if is_htmx() else None


def to_confirm_region(response: Response) -> Response:
    """Show this answer in the page's confirmation region, leaving the form that asked as it was."""
    response.headers["HX-Retarget"] = "#confirm-step"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def hx_refresh(response: Response) -> Response:
    """Ask htmx to reload the page (after a rejected CSRF token)."""
    response.headers["HX-Refresh"] = "true"
    return response
