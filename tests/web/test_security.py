"""Headers, CSRF, error pages and health: the platform's outer shell."""

import re

from app.models import Role
from tests.factories import UserFactory
from tests.helpers import HX, PASSWORD


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_content_security_policy_allows_no_inline_script_or_framing(client):
    policy = _csp(client.get("/login"))
    assert policy["script-src"] == "script-src 'self'"
    assert "unsafe-inline" not in str(policy) and "unsafe-eval" not in str(policy)
    assert policy["object-src"] == "object-src 'none'"
    assert policy["base-uri"] == "base-uri 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"


def test_pages_carry_no_inline_scripts_or_styles(client, login):
    login(UserFactory())
    for url in ("/", "/account", "/account/profile/edit", "/account/password", "/borrower/"):
        body = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), url
        assert " style=" not in body and "<style" not in body, url
        assert " onclick=" not in body, url


def test_vendored_htmx_is_served_from_this_site(client):
    body = client.get("/login").get_data(as_text=True)
    assert "/static/js/htmx-2.0.11.min.js" in body
    # Every script and stylesheet is ours (a random CSRF token may well contain "cdn").
    sources = re.findall(r'<(?:script|link)[^>]* (?:src|href)="([^"]+)"', body)
    assert sources and all(source.startswith("/static/") for source in sources), sources
    assert client.get("/static/js/htmx-2.0.11.min.js").status_code == 200


def test_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_session_cookie_is_httponly_and_lax(client):
    user = UserFactory()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signed_in_pages_are_not_cached(client, login):
    login(UserFactory())
    assert client.get("/account").headers["Cache-Control"] == "no-store"


def test_csrf_is_required_on_forms_and_htmx(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    user = UserFactory()
    refused = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400
    refused_htmx = client.post(
        "/login", data={"email": user.email, "password": PASSWORD}, headers=HX
    )
    assert refused_htmx.status_code == 400
    assert refused_htmx.headers["HX-Refresh"] == "true"
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    accepted = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        headers={**HX, "X-CSRFToken": token},
    )
    assert accepted.status_code == 204
    assert accepted.headers["HX-Redirect"] == "/borrower/"


def test_csrf_token_from_the_form_field_works_for_plain_posts(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    user = UserFactory()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"We couldn't find that" in response.data


def test_api_errors_are_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json and response.json["error"] == "not_found"


def test_unexpected_errors_show_no_stack_trace(app, client, login, monkeypatch):
    login(UserFactory(role=Role.ADMIN))

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setitem(app.view_functions, "admin.dashboard", explode)
    response = client.get("/admin/")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.data
    assert b"secret internals" not in response.data and b"Traceback" not in response.data


def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_503_when_redis_is_down(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.delitem(app.extensions, "communitylend.redis", raising=False)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["redis"] == "down" and response.json["database"] == "ok"
    app.extensions.pop("communitylend.redis", None)


def test_repeated_sign_in_attempts_are_rate_limited(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    codes = [
        attacker.post(
            "/login", data={"email": "victim@example.com", "password": f"guess number {n}"}
        ).status_code
        for n in range(5)
    ]
    assert codes == [422, 422, 422, 429, 429]
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert (
        elsewhere.post("/login", data={"email": "a@example.com", "password": "x" * 12}).status_code
        == 422
    )
