"""Extension objects, bound to an app in create_app()."""

from decimal import Decimal

from flask import current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from rq import Queue
from sqlalchemy.orm import Session

from app.integrations.payments import gateway_for
from app.models import Base
from app.services.money.payments import PaymentGateway
from app.services.platform.sealing import KeyRing
from app.services.policy import LendingPolicy

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


class JsonApi(Api):
    """flask-smorest for /api/v1 only: app/errors.py answers errors, JSON under /api/ alone."""

    def _register_error_handlers(self):
        pass  # smorest would turn every error of the HTML site into JSON


def get_redis() -> Redis | None:
    """The Redis connection for queues, or None when jobs run in-process."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    redis = current_app.extensions.get("communitylend.redis")
    if redis is None:
        redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        current_app.extensions["communitylend.redis"] = redis
    return redis


def get_queue(name: str = "default") -> Queue | None:
    """The RQ queue `name`, or None when REDIS_URL is not set."""
    redis = get_redis()
    if redis is None:
        return None
    return Queue(name, connection=redis, is_async=current_app.config["RQ_IS_ASYNC"])


def get_gateway() -> PaymentGateway:
    """The payment gateway as configured for this app (Stripe, or simulated in development)."""
    return gateway_for(current_app.config)


def get_key_ring() -> KeyRing:
    """The AES-GCM keys for sealed secrets (ENCRYPTION_KEYS; outside production, derived)."""
    return current_app.extensions["key_ring"]


def get_policy() -> LendingPolicy:
    """The lending rules as configured for this app."""
    config = current_app.config
    return LendingPolicy(
        loan_terms=tuple(config["LOAN_TERMS"]),
        second_approval_above=Decimal(config["SECOND_APPROVAL_ABOVE"]),
        listing_days=config["LISTING_DAYS"],
        issue_threshold_percent=Decimal(config["ISSUE_THRESHOLD_PERCENT"]),
        max_investment_per_loan=Decimal(config["MAX_INVESTMENT_PER_LOAN"]),
        charge_off_after_days=config["CHARGE_OFF_AFTER_DAYS"],
    )


def stale_reads() -> Session:
    """The session for reads that may lag the primary by a moment: marketplace browsing,
    reports and exports. With DATABASE_REPLICA_URL, a read-only session on the streaming
    replica, one per request; without, the primary's own. Writes, and reads that must see a
    write just made (a lender's portfolio after investing), use db.session."""
    if "replica" not in current_app.config["SQLALCHEMY_BINDS"]:
        return db.session
    if "replica_session" not in g:
        g.replica_session = Session(db.engines["replica"])
    return g.replica_session


def close_stale_reads(_error=None) -> None:
    session = g.pop("replica_session", None)
    if session is not None:
        session.close()
