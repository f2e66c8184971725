"""Liveness for load balancers: is the database there, is Redis there."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import db, get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """JSON status of each dependency; 503 when one that is configured is down."""
    checks = {"database": _database_status(), "redis": _redis_status()}
    healthy = all(status in ("ok", "not_configured") for status in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503


def _database_status() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception:  # noqa: BLE001 - any failure means "down"
        db.session.rollback()
        return "down"


def _redis_status() -> str:
    redis = get_redis()
    if redis is None:
        return "not_configured"
    try:
        redis.ping()
        return "ok"
    except Exception:  # noqa: BLE001
        return "down"
