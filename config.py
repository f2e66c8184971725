"""Configuration classes, read from the environment with safe development defaults."""

import ipaddress
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused by ProductionConfig
DEMO_EMAIL_DOMAIN = "demo.communitylend.example"
# The embedded server `make run` starts when DATABASE_URL is unset (see app/devserver.py).
EMBEDDED_DATABASE_URL = (
    f"postgresql+psycopg2://postgres@/communitylend?host={BASE_DIR / 'instance' / 'pgdata'}"
)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _flag(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(name: str, default: str) -> str:
    """The URL with the psycopg2 driver named (SQLAlchemy 2.1 would pick psycopg 3)."""
    url = _env(name, default) or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _first(*names: str, default: str | None = None) -> str | None:
    """The first of `names` set: ours, then the original design's spelling of the same thing."""
    return next((value for name in names if (value := _env(name)) is not None), default)


# Document types the upload can recognise by their bytes, and the MIME types the original
# design's ALLOWED_FILE_TYPES may name them by.
CHECKABLE_TYPES = ("pdf", "jpg", "jpeg", "png", "doc", "docx")
MIME_TYPES = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/png": ("png",),
    "application/msword": ("doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _file_types(value: str) -> tuple[str, ...]:
    """`pdf,.PNG, image/jpeg` as extensions: ('pdf', 'png', 'jpg', 'jpeg')."""
    found: list[str] = []
    for item in value.split(","):
        item = item.strip().lower().lstrip(".")
        for extension in MIME_TYPES.get(item, (item,)):
            if extension and extension not in found:
                found.append(extension)
    return tuple(found)


def _origins(value: str | None) -> tuple[str, ...]:
    return tuple(
        origin.strip().rstrip("/") for origin in (value or "").split(",") if origin.strip()
    )


class Config:
    APP_ENV = "development"
    SECRET_KEY = _env("SECRET_KEY", DEV_SECRET_KEY)
    # Old keys, still accepted for verification after a rotation (app/keys.py).
    SECRET_KEY_FALLBACKS = [
        key for key in (_env("SECRET_KEY_FALLBACKS", "") or "").split(",") if key
    ]
    DEBUG = _flag("FLASK_DEBUG", False)
    TESTING = False
    # AES-GCM keys for secrets the server must read back (TOTP seeds): "id:base64-of-32-bytes",
    # comma-separated, the last one current (app/services/platform/sealing.py). Unset outside
    # production: a key derived from SECRET_KEY.
    ENCRYPTION_KEYS = _env("ENCRYPTION_KEYS")
    # Admins must use two-step sign-in (production insists; off by default elsewhere so the
    # demo admin signs in with a password alone).
    REQUIRE_ADMIN_MFA = _flag("REQUIRE_ADMIN_MFA", False)

    SQLALCHEMY_DATABASE_URI = _database_url("DATABASE_URL", EMBEDDED_DATABASE_URL)
    # A streaming replica for reads that may lag a moment (marketplace browsing, reports,
    # exports): app/extensions.py's stale_reads(). Unset: those reads go to the primary.
    SQLALCHEMY_BINDS = (
        {"replica": _database_url("DATABASE_REPLICA_URL", "")}
        if _env("DATABASE_REPLICA_URL")
        else {}
    )
    # No ping per checkout (a round trip on every request): see app/pool.py.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False, "pool_recycle": 1800}
    POOL_IDLE_PING_SECONDS = _int("POOL_IDLE_PING_SECONDS", 10)
    REDIS_URL = _env("REDIS_URL")
    RQ_IS_ASYNC = True
    RQ_QUEUES = ("default",)

    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = _int("SESSION_LIFETIME_SECONDS", 12 * 3600)
    FORCE_HTTPS = False
    PROXY_COUNT = _int("PROXY_COUNT", 0)  # reverse proxies in front of the app

    UPLOAD_FOLDER = _env("UPLOAD_FOLDER", str(BASE_DIR / "instance" / "uploads"))
    BACKUP_DIR = _env("BACKUP_DIR", str(BASE_DIR / "instance" / "backups"))  # flask ops backup
    UPLOAD_MAX_SIZE = _int("UPLOAD_MAX_SIZE", 10 * 1024 * 1024)
    UPLOAD_ALLOWED_TYPES = _file_types(
        _first("UPLOAD_ALLOWED_TYPES", "ALLOWED_FILE_TYPES", default=",".join(CHECKABLE_TYPES))
    )
    # Headroom for multipart framing around one maximum-size file.
    MAX_CONTENT_LENGTH = UPLOAD_MAX_SIZE + 512 * 1024
    # Admin CSV uploads may be larger than documents (the CLI has no limit).
    IMPORT_MAX_SIZE = _int("IMPORT_MAX_SIZE", 50 * 1024 * 1024)
    # How long personal data is kept once done with (services/platform/retention.py).
    RETENTION_IMPORT_HOURS = _int("RETENTION_IMPORT_HOURS", 24)
    RETENTION_EMAIL_DAYS = _int("RETENTION_EMAIL_DAYS", 30)

    SMTP_HOST = _env("SMTP_HOST")
    SMTP_PORT = _int("SMTP_PORT", 25)
    SMTP_USERNAME = _first("SMTP_USERNAME", "SMTP_USER")
    SMTP_PASSWORD = _first("SMTP_PASSWORD", "SMTP_PASS")
    SMTP_USE_TLS = _flag("SMTP_USE_TLS", False)
    MAIL_FROM = _env("MAIL_FROM", "CommunityLend <no-reply@communitylend.test>")
    PUBLIC_URL = _env("PUBLIC_URL", "http://127.0.0.1:5000")  # for links in emails
    # Passkeys are bound to PUBLIC_URL's host (the relying party id) and origin; browsers
    # accept "localhost" and real domains, not IP addresses, as that host.
    WEBAUTHN_RP_NAME = _env("WEBAUTHN_RP_NAME", "CommunityLend")
    # Sign in with Google (OpenID Connect): off unless a client id is set.
    GOOGLE_CLIENT_ID = _env("GOOGLE_CLIENT_ID")
    GOOGLE_CLIENT_SECRET = _env("GOOGLE_CLIENT_SECRET")
    GOOGLE_METADATA_URL = _env(
        "GOOGLE_METADATA_URL", "https://accounts.google.com/.well-known/openid-configuration"
    )
    # Sign in with GitHub (OAuth 2.0, no OpenID Connect: the email comes from its REST API).
    GITHUB_CLIENT_ID = _env("GITHUB_CLIENT_ID")
    GITHUB_CLIENT_SECRET = _env("GITHUB_CLIENT_SECRET")
    GITHUB_URL = _env("GITHUB_URL", "https://github.com")  # a local GitHub-shaped server in tests
    GITHUB_API_URL = _env("GITHUB_API_URL", "https://api.github.com")
    LOAN_TERMS = tuple(int(t) for t in (_env("LOAN_TERMS", "36,60") or "36,60").split(","))

    STRIPE_SECRET_KEY = _env("STRIPE_SECRET_KEY")
    STRIPE_PUBLISHABLE_KEY = _env("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = _env("STRIPE_WEBHOOK_SECRET")
    # Where the Stripe API answers: Stripe itself, or localstripe in tests. Production: Stripe.
    STRIPE_API_BASE = _env("STRIPE_API_BASE", "https://api.stripe.com")
    # Stripe.js, which draws the card field on the card page: Stripe's, or localstripe's in tests.
    STRIPE_JS_URL = _env("STRIPE_JS_URL", "https://js.stripe.com/v3/")

    LOG_LEVEL = (_env("LOG_LEVEL", "INFO") or "INFO").strip().upper()
    # "json" (one object per line, for a log store) or "text"; production defaults to json.
    LOG_FORMAT = (_env("LOG_FORMAT", "text") or "text").strip().lower()
    # Browsers at these origins may call the JSON API (never the HTML pages); comma-separated.
    CORS_ORIGINS = _origins(_env("CORS_ORIGIN"))
    # Off: no security headers outside production (a local proxy may set its own); production
    # always sends them, whatever this says.
    SECURITY_HEADERS_ENABLED = _flag("SECURITY_HEADERS_ENABLED", True)
    SENTRY_DSN = _env("SENTRY_DSN")
    # Who may read /metrics (Prometheus): these networks, as the app sees the client's address.
    METRICS_ALLOWED_NETWORKS = tuple(
        network.strip()
        for network in (
            _env(
                "METRICS_ALLOWED_NETWORKS",
                "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
            )
            or ""
        ).split(",")
        if network.strip()
    )

    ENABLE_ML_SCORING = _flag("ENABLE_ML_SCORING", True)
    ENABLE_AUTO_MATCHING = _flag("ENABLE_AUTO_MATCHING", False)
    ENABLE_EMAIL_NOTIFICATIONS = _flag("ENABLE_EMAIL_NOTIFICATIONS", True)

    RATELIMIT_STORAGE_URI = _env("REDIS_URL", "memory://")
    # Redis restarting must not fail sign-ins and payments: limits fall back to each process's
    # memory until it is back.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # A job handed to Redis and not finished in this long was lost (its worker killed, Redis
    # restarted): the relay hands it out again. Longer than any job runs.
    OUTBOX_STALE_AFTER_SECONDS = _int("OUTBOX_STALE_AFTER_SECONDS", 600)
    # RQ beats for a running job this often; a job whose beat has been silent for the second
    # figure ran on a worker that was killed, and is handed out again.
    RQ_JOB_MONITORING_INTERVAL = _int("RQ_JOB_MONITORING_INTERVAL", 30)
    OUTBOX_HEARTBEAT_SILENCE_SECONDS = _int("OUTBOX_HEARTBEAT_SILENCE_SECONDS", 90)
    RATELIMIT_ENABLED = True
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")
    # JSON API: bearer tokens and their limits; the OpenAPI document at /api/v1/openapi.json.
    API_TOKEN_DAYS = _int("API_TOKEN_DAYS", 30)
    API_MONEY_RATE_LIMIT = _env("API_MONEY_RATE_LIMIT", "60 per minute")
    API_TITLE = "CommunityLend API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    SEED_DEMO_DATA = _flag("SEED_DEMO_DATA", True)
    # `make run`: also build the living demo book (seeds/book.py) in the background.
    SEED_DEMO_BOOK = _flag("SEED_DEMO_BOOK", True)
    # Lending rules (app.services.policy.LendingPolicy); decimals as strings.
    LISTING_DAYS = _int("LISTING_DAYS", 14)
    ISSUE_THRESHOLD_PERCENT = _env("ISSUE_THRESHOLD_PERCENT", "70")
    MAX_INVESTMENT_PER_LOAN = _env("MAX_INVESTMENT_PER_LOAN", "5000.00")
    CHARGE_OFF_AFTER_DAYS = _int("CHARGE_OFF_AFTER_DAYS", 150)
    SECOND_APPROVAL_ABOVE = _env("SECOND_APPROVAL_ABOVE", "25000.00")  # loans above need two admins
    ARGON2_TIME_COST: int | None = None  # None: argon2-cffi's defaults (ASVS-compliant)
    ARGON2_MEMORY_COST: int | None = None

    def problems(self) -> list[str]:
        """Reasons this configuration must not start (empty when it may)."""
        found = []
        if self.LOG_LEVEL not in LOG_LEVELS:
            found.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (any case)")
        if self.LOG_FORMAT not in ("json", "text"):
            found.append("LOG_FORMAT must be json or text")
        try:
            [ipaddress.ip_network(network) for network in self.METRICS_ALLOWED_NETWORKS]
        except ValueError:
            found.append(
                "METRICS_ALLOWED_NETWORKS must be networks like 10.0.0.0/8, comma-separated"
            )
        unknown = [t for t in self.UPLOAD_ALLOWED_TYPES if t not in CHECKABLE_TYPES]
        if unknown or not self.UPLOAD_ALLOWED_TYPES:
            found.append(
                f"ALLOWED_FILE_TYPES may name only {', '.join(CHECKABLE_TYPES)} "
                f"(their bytes are checked), not {', '.join(unknown) or 'nothing'}"
            )
        if any(not o.startswith(("http://", "https://")) and o != "*" for o in self.CORS_ORIGINS):
            found.append("CORS_ORIGIN must list origins like https://app.example.com")
        return found


class DevelopmentConfig(Config):
    APP_ENV = "development"


class TestConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105
    # One fixed sealing key for every app the tests build (some rotate SECRET_KEY).
    ENCRYPTION_KEYS = "test:" + "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="
    SQLALCHEMY_DATABASE_URI = _database_url(
        "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/communitylend_test"
    )
    REDIS_URL = _env("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_RATE_LIMIT = "10000 per minute"  # a test lowers it to check the limit itself
    API_MONEY_RATE_LIMIT = "10000 per minute"
    RQ_IS_ASYNC = False
    WTF_CSRF_ENABLED = False
    UPLOAD_FOLDER = _env("TEST_UPLOAD_FOLDER", "/tmp/communitylend-test-uploads")  # noqa: S108
    SEED_DEMO_DATA = False
    # Cheap hashing keeps hundreds of sign-ins fast; a test checks production's cost.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8192


class ProductionConfig(Config):
    APP_ENV = "production"
    REQUIRE_ADMIN_MFA = _flag("REQUIRE_ADMIN_MFA", True)
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    FORCE_HTTPS = True
    SEED_DEMO_DATA = _flag("SEED_DEMO_DATA", False)
    LOG_FORMAT = (_env("LOG_FORMAT", "json") or "json").strip().lower()

    def problems(self) -> list[str]:
        found = []
        if not self.SECRET_KEY or self.SECRET_KEY == DEV_SECRET_KEY or len(self.SECRET_KEY) < 32:
            found.append("SECRET_KEY must be set to a random value of at least 32 characters")
        if self.DEBUG:
            found.append("FLASK_DEBUG must be off in production")
        if self.SEED_DEMO_DATA:
            found.append("SEED_DEMO_DATA must be off in production")
        if not _env("DATABASE_URL"):
            found.append("DATABASE_URL must be set in production")
        if not self.ENCRYPTION_KEYS:
            found.append("ENCRYPTION_KEYS must be set in production (id:base64 of 32 bytes)")
        if not self.REQUIRE_ADMIN_MFA:
            found.append("REQUIRE_ADMIN_MFA must be on in production")
        if not self.REDIS_URL:  # else each process keeps its own rate limits, and jobs wait
            found.append("REDIS_URL must be set in production (rate limits and jobs)")
        github = (self.GITHUB_URL, self.GITHUB_API_URL)
        if self.GITHUB_CLIENT_ID and github != ("https://github.com", "https://api.github.com"):
            found.append("GITHUB_URL and GITHUB_API_URL must be GitHub's own in production")
        if "*" in self.CORS_ORIGINS:
            found.append("CORS_ORIGIN must name the origins in production, not *")
        return super().problems() + found + self._payment_problems()

    def _payment_problems(self) -> list[str]:
        """Without Stripe the simulated provider would credit money nobody paid."""
        found = []
        if not self.STRIPE_SECRET_KEY or not self.STRIPE_WEBHOOK_SECRET:
            found.append(
                "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set in production "
                "(the simulated payment provider moves no real money)"
            )
        if not self.STRIPE_PUBLISHABLE_KEY:
            found.append("STRIPE_PUBLISHABLE_KEY must be set in production (the card page)")
        if self.STRIPE_API_BASE != "https://api.stripe.com":
            found.append("STRIPE_API_BASE must be https://api.stripe.com in production")
        if self.STRIPE_JS_URL != "https://js.stripe.com/v3/":
            found.append("STRIPE_JS_URL must be https://js.stripe.com/v3/ in production")
        return found


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The config class named by APP_ENV (default: development)."""
    name = _env("APP_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"APP_ENV must be one of {sorted(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
