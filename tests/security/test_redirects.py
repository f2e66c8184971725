"""Hole 2: after sign-in, `next` never leaves the site, and no `next` makes a 500.

The probe's `next=/%09/evil.example/` answered `Location: //evil.example/` (browsers drop the
tab), and a newline in `next` made the htmx sign-in 500. Each target is tried the way a browser
would follow it: the Location (or HX-Redirect) is resolved against our origin with the same
tab/newline stripping, and must stay on it.
"""

from urllib.parse import quote, urljoin, urlsplit

import pytest

from app.links import safe_next
from tests.factories import UserFactory
from tests.helpers import HX, PASSWORD

ORIGIN = "http://localhost"
HOSTILE = [
    "//evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    "\t//evil.example/",
    " //evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "///evil.example/",
    "https://evil.example/",
    "HTTPS:evil.example",
    "javascript:alert(1)",
    "/\x00/evil.example/",
    "evil.example",
    "",
]
FRIENDLY = ["/account", "/lender/loans?grade=A&page=2", "/account#documents"]


def _as_a_browser_follows(location: str) -> str:
    """Where a browser lands: it removes tabs and newlines, then resolves against the page."""
    cleaned = location.strip("\x00 ").replace("\t", "").replace("\n", "").replace("\r", "")
    return urljoin(ORIGIN + "/login", cleaned.replace("\\", "/"))


@pytest.mark.parametrize("target", HOSTILE + FRIENDLY)
@pytest.mark.parametrize("htmx", [False, True])
def test_sign_in_next_stays_on_the_site(client, target, htmx):
    user = UserFactory()
    answer = client.post(
        f"/login?next={quote(target, safe='')}",
        data={"email": user.email, "password": PASSWORD},
        headers=HX if htmx else {},
    )
    if "\x00" in target:  # no request carries a NUL byte anywhere (see test_bad_input)
        assert answer.status_code == 422 and "Location" not in answer.headers
        return
    assert answer.status_code == (204 if htmx else 303)
    location = answer.headers["HX-Redirect" if htmx else "Location"]
    landing = urlsplit(_as_a_browser_follows(location))
    assert (landing.scheme, landing.netloc) == ("http", "localhost")
    if target in FRIENDLY:
        assert location == target
    else:
        assert location == "/borrower/"  # the home page for the role


@pytest.mark.parametrize("target", HOSTILE)
def test_the_helper_refuses_what_a_browser_would_read_as_elsewhere(target):
    assert safe_next(target) is None


def test_the_helper_keeps_a_path_its_query_and_fragment():
    assert [safe_next(target) for target in FRIENDLY] == FRIENDLY
    assert safe_next("/a" * 1001) is None  # no unbounded headers
