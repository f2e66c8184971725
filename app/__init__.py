"""CommunityLend: the application factory."""

from flask import Flask, request
from flask_login import current_user
from jinja2 import StrictUndefined
from werkzeug.middleware.proxy_fix import ProxyFix

from app import error_reporting, keys, observability, security_events
from config import Config, config_from_env

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the app for `config_class` (default: the class APP_ENV names)."""
    config = (config_class or config_from_env())()
    problems = config.problems()
    if problems:
        raise RuntimeError("Refusing to start: " + "; ".join(problems))
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config)
    keys.install(app)
    install_key_ring(app)
    observability.install_logging(app)
    error_reporting.install(app)
    proxies = app.config["PROXY_COUNT"]
    if proxies:  # trust X-Forwarded-* only from the proxies we really have
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    observability.install_request_ids(app)  # first: every line after it knows its request
    security_events.install(app)  # every row written after it knows the client
    register_input_checks(app)  # these must run before CSRF's check reads the form
    register_extensions(app)
    register_blueprints(app)
    allow_stripe_on_card_pages(app)
    register_errorhandlers(app)
    register_jinja(app)
    register_commands(app)
    register_response_headers(app)
    if app.config["APP_ENV"] == "production":
        refuse_demo_accounts(app)
    return app


def install_key_ring(app: Flask) -> None:
    """The AES-GCM keys for sealed columns and values (one ring per process)."""
    from app.models import sealed
    from app.services.platform.sealing import KeyRing

    ring = KeyRing.from_setting(
        app.config["ENCRYPTION_KEYS"], app.config["SIGNING_KEYS"]["sealing"][-1]
    )
    app.extensions["key_ring"] = ring
    sealed.use(ring)


def refuse_demo_accounts(app: Flask) -> None:
    """Raise if the database holds any demo account (production must never serve them)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User
    from config import DEMO_EMAIL_DOMAIN

    with app.app_context():
        demo = db.session.scalar(
            select(User.email).where(User.email.endswith(f"@{DEMO_EMAIL_DOMAIN}")).limit(1)
        )
        db.session.remove()
    if demo:
        raise RuntimeError(f"Refusing to start: demo account {demo} exists in this database")


def register_extensions(app: Flask) -> None:
    from flask_talisman import Talisman

    from app import access  # noqa: F401 - registers the Flask-Login callbacks
    from app.extensions import close_stale_reads, csrf, db, limiter, login_manager, migrate
    from app.pool import ping_when_idle
    from app.services.accounts import passwords
    from app.services.platform.imports import staging

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_when_idle(engine, app.config["POOL_IDLE_PING_SECONDS"])
    app.teardown_appcontext(close_stale_reads)
    migrate.init_app(
        app,
        db,
        directory=str(app.config.get("MIGRATIONS_DIR", "migrations")),
        include_name=staging.include_in_schema,
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # server-side sessions do this job
    csrf.init_app(app)
    limiter.init_app(app)
    if app.config["SECURITY_HEADERS_ENABLED"] or app.config["APP_ENV"] == "production":
        # One Talisman per app: it keeps its settings on itself, not on the app.
        app.extensions["talisman"] = Talisman(
            app,
            force_https=app.config["FORCE_HTTPS"],
            session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
            content_security_policy=CONTENT_SECURITY_POLICY,
            referrer_policy="strict-origin-when-cross-origin",
            frame_options="DENY",
        )
    if app.config["CORS_ORIGINS"]:
        allow_api_origins(app)
    if app.config.get("ARGON2_TIME_COST"):
        passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"])


def allow_api_origins(app: Flask) -> None:
    """CORS for the JSON API only: browsers at CORS_ORIGIN may call it with a bearer token
    (no cookies); the HTML pages answer no cross-origin request."""
    from flask_cors import CORS

    CORS(
        app,
        resources={r"/api/*": {"origins": list(app.config["CORS_ORIGINS"])}},
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        expose_headers=["Retry-After", "Location"],
        supports_credentials=False,
        max_age=600,
    )


def allow_stripe_on_card_pages(app: Flask) -> None:
    """Only the card page runs Stripe.js: its script, the frames it draws the card field in,
    and the API it sends the card to. Every other page keeps the strict policy."""
    from urllib.parse import urlsplit

    if "talisman" not in app.extensions:
        return
    script = urlsplit(app.config["STRIPE_JS_URL"])
    script_origin = f"{script.scheme}://{script.netloc}"
    api_origin = app.config["STRIPE_API_BASE"].rstrip("/")
    policy = {
        **CONTENT_SECURITY_POLICY,
        "script-src": f"'self' {script_origin}",
        "frame-src": f"{script_origin} https://hooks.stripe.com",
        "connect-src": f"'self' {api_origin} {script_origin}",
    }
    for endpoint in ("card.pay", "card.pay_submit", "card.setup_show"):
        app.view_functions[endpoint].talisman_view_options = {"content_security_policy": policy}


def register_blueprints(app: Flask) -> None:
    from app.blueprints import ALL_BLUEPRINTS, api
    from app.blueprints.api.schemas import ErrorSchema
    from app.extensions import JsonApi, csrf

    for blueprint in (*ALL_BLUEPRINTS, api.pages):
        app.register_blueprint(blueprint)
    # One flask-smorest Api per app: it keeps the app and its OpenAPI document on itself.
    json_api = JsonApi()
    json_api.ERROR_SCHEMA = ErrorSchema  # every documented error has this API's shape
    json_api.init_app(app, spec_kwargs={"servers": [{"url": "/"}]})
    json_api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/login"}
    )
    json_api.register_blueprint(api.bp)
    json_api.register_blueprint(api.original.bp)
    app.extensions["json_api"] = json_api
    csrf.exempt(api.bp)  # bearer tokens, no cookies: nothing to forge
    csrf.exempt(api.original.bp)


def register_input_checks(app: Flask) -> None:
    from app.forms import apply_body_limit, refuse_nul_input

    app.before_request(apply_body_limit)
    app.before_request(refuse_nul_input)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register_errorhandlers as register

    register(app)


def register_jinja(app: Flask) -> None:
    from app.extensions import get_policy
    from app.formatting import day, money, pct, status_name, when
    from app.links import notification_url

    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["pct"] = pct
    app.jinja_env.filters["status_name"] = status_name
    app.jinja_env.filters["day"] = day
    app.jinja_env.globals["notification_url"] = notification_url
    # The lending numbers pages show (note unit, terms) come from the one policy.
    app.context_processor(lambda: {"policy": get_policy()})
    if app.testing:
        app.jinja_env.undefined = StrictUndefined


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)


def register_response_headers(app: Flask) -> None:
    @app.after_request
    def no_store_for_signed_in(response):
        # Pages with personal or financial data must not sit in shared caches.
        if request.path.startswith("/api/") or current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response
