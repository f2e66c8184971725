"""/readyz: ready only with the database and Redis answering and the schema at the code's
migration head; /healthz stays a liveness check."""

from sqlalchemy import text

from app.extensions import db


def test_ready_at_head(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json == {
        "status": "ready", "database": "ok", "redis": "ok", "migrations": "ok",
    }  # fmt: skip


def test_not_ready_behind_or_ahead_of_the_code(client):
    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = '0018'"))
    behind = client.get("/readyz")
    assert behind.status_code == 503 and behind.json["migrations"] == "behind"
    db.session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    ahead = client.get("/readyz")
    assert ahead.status_code == 503 and ahead.json["migrations"] == "ahead"
    assert client.get("/healthz").status_code == 200  # alive all the same
    db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


def test_not_ready_when_redis_does_not_answer(app, client, monkeypatch):
    from redis import Redis

    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    monkeypatch.setitem(app.extensions, "communitylend.redis", dead)
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json["redis"] == "down"


def test_without_redis_configured_jobs_run_in_process_and_the_node_is_ready(client, no_redis):
    answer = client.get("/readyz")
    assert answer.status_code == 200 and answer.json["redis"] == "not_configured"
