"""Liveness and readiness for load balancers and orchestrators.

`/healthz`: the process answers, and says whether the database and Redis do. `/readyz`: send
traffic here only when the database and Redis answer and the schema is at the code's migration
head (a node started before `flask db upgrade` finished, or with newer code, is not ready).
"""

from pathlib import Path

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.extensions import db, get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """JSON status of each dependency; 503 when one that is configured is down."""
    checks = {"database": _database_status(), "redis": _redis_status()}
    healthy = all(status in ("ok", "not_configured") for status in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503


@bp.get("/readyz")
def readyz():
    """200 when this node may take traffic; 503 with the reason otherwise."""
    checks = {
        "database": _database_status(),
        "redis": _redis_status(),
        "migrations": _migrations_status(),
    }
    ready = all(status in ("ok", "not_configured") for status in checks.values())
    return jsonify(status="ready" if ready else "not_ready", **checks), 200 if ready else 503


def _migrations_status() -> str:
    """ "ok" at head; "behind" or "ahead" of this code's migrations; "down" without a database."""
    from alembic.script import ScriptDirectory

    folder = Path(current_app.extensions["migrate"].directory)
    if not folder.is_absolute():  # relative to the project, wherever the process started
        folder = Path(current_app.root_path).parent / folder
    scripts = ScriptDirectory(str(folder))
    heads = set(scripts.get_heads())
    try:
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception:  # noqa: BLE001 - no table, no database: not ready either way
        db.session.rollback()
        return "down"
    if current == heads:
        return "ok"
    known = {revision.revision for revision in scripts.walk_revisions()}
    return "behind" if current <= known else "ahead"


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
