"""Background job throughput: outbox jobs per second through RQ workers, against a floor.

The floor runs the same outbox messages one after another inside this process (no queue, no
fork): what the job itself costs. Then the same number of messages is relayed to RQ and run by
`worker.py` processes (1, then 2), started and idle before the jobs arrive, timed from the
relay to the last message done. The ratio says how much the queue and the worker's process
model cost on top of the work. Ends with one JSON line.

    .venv/bin/python benchmarks/worker.py [--jobs 400]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis import Redis  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from benchmarks._setup import ROOT, fresh_app  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
DATABASE = "communitylend_bench_worker"

PEOPLE_SQL = """
INSERT INTO users (email, password_hash, role, first_name, last_name, country, identity_status,
    is_active, failed_login_count, created_at, updated_at)
SELECT 'worker' || k || '@bench.example', 'x', 'lender', 'Bench' || k, 'Lender', 'US',
    'unverified', true, 0, now(), now()
  FROM generate_series(1, :people) k
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    app = fresh_app(DATABASE)
    app.config.update(REDIS_URL=REDIS_URL, RQ_IS_ASYNC=True)
    Redis.from_url(REDIS_URL).flushdb()
    batches = 1 + len(args.workers)
    with app.app_context():
        from app.extensions import db

        db.session.execute(text(PEOPLE_SQL), {"people": args.jobs * batches})
        db.session.commit()
    results = {"floor": run_in_process(app, args.jobs)}
    for batch, count in enumerate(args.workers, start=1):
        results[label(count)] = run_on_workers(app, args.jobs, count, batch)
    floor = results["floor"]
    print(f"{'how':<12} {'jobs/s':>8} {'ratio':>6}")
    for name, rate in results.items():
        print(f"{name:<12} {rate:>8.1f} {rate / floor:>6.2f}")
    summary = {"benchmark": "worker", "jobs": args.jobs, "floor_jobs_per_s": round(floor, 1)}
    for count in args.workers:
        rate = results[label(count)]
        summary[f"workers_{count}_jobs_per_s"] = round(rate, 1)
        summary[f"ratio_{count}"] = round(rate / floor, 3)
    print(json.dumps(summary))


def label(workers: int) -> str:
    return f"{workers} worker{'s' * (workers > 1)}"


def add_messages(app, batch: int, jobs: int) -> None:
    """`jobs` welcome messages, for the `batch`th slice of the people (a notification each)."""
    from app.extensions import db
    from app.models import User
    from app.services.platform import outbox

    with app.app_context():
        # the emails earlier welcomes asked for are not what is measured
        db.session.execute(text("DELETE FROM outbox_messages WHERE kind <> 'welcome_user'"))
        people = db.session.scalars(
            select(User.id).order_by(User.id).offset(batch * jobs).limit(jobs)
        ).all()
        for person in people:
            outbox.add(db.session, "welcome_user", {"user_id": person})
        db.session.commit()


def run_in_process(app, jobs: int) -> float:
    from app.background.jobs import run_outbox_message
    from app.extensions import db
    from app.models import OutboxMessage, OutboxStatus

    add_messages(app, 0, jobs)
    with app.app_context():
        pending = db.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING)
        ).all()
        started = time.perf_counter()
        for message_id in pending:
            run_outbox_message(message_id)
        return len(pending) / (time.perf_counter() - started)


def run_on_workers(app, jobs: int, count: int, batch: int) -> float:
    from app.background.jobs import relay
    from app.extensions import db
    from app.models import OutboxMessage, OutboxStatus

    add_messages(app, batch, jobs)
    workers = [start_worker(app) for _ in range(count)]
    try:
        with app.app_context():
            wait_for_idle_workers(count)
            started = time.perf_counter()
            while relay(limit=500):
                pass
            while True:
                db.session.rollback()
                left = db.session.scalar(
                    select(func.count()).where(
                        OutboxMessage.kind == "welcome_user",
                        OutboxMessage.status != OutboxStatus.DONE,
                    )
                )
                if not left:
                    return jobs / (time.perf_counter() - started)
                if any(worker.poll() is not None for worker in workers):
                    raise SystemExit("a worker died")
                time.sleep(0.02)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)


def start_worker(app) -> subprocess.Popen:
    environment = dict(
        os.environ,
        APP_ENV="development",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=REDIS_URL,
        LOG_LEVEL="warning",
    )
    return subprocess.Popen(
        [sys.executable, "worker.py"], cwd=ROOT, env=environment, stdout=subprocess.DEVNULL
    )


def wait_for_idle_workers(count: int) -> None:
    from rq import Worker

    redis = Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len([w for w in Worker.all(connection=redis) if w.get_state() == "idle"]) >= count:
            return
        time.sleep(0.1)
    raise SystemExit("the workers did not start")


if __name__ == "__main__":
    main()
