"""A cookie-keeping HTTP client for live servers, without a browser."""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


class Browserless:
    """A cookie-keeping HTTP client that signs in through the real form."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def token(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=60) as response:
            return TOKEN.search(response.read().decode()).group(1)

    def post(self, path: str, data: dict, token: str, htmx: bool = False) -> int:
        headers = {"X-CSRFToken": token, **({"HX-Request": "true"} if htmx else {})}
        request = urllib.request.Request(
            self.base + path, urllib.parse.urlencode(data).encode(), headers=headers, method="POST"
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
