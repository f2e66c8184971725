"""Shared benchmark plumbing: a fresh, migrated database, an app bound to it, gunicorn."""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from flask_migrate import upgrade

from tests.database import MIGRATIONS, recreate_database

ROOT = Path(__file__).resolve().parents[1]


def fresh_app(default_name: str):
    """An app on an emptied, migrated benchmark database (BENCH_DATABASE_URL)."""
    url = os.environ.get(
        "BENCH_DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{default_name}"
    )
    recreate_database(url)

    from app import create_app
    from config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url.replace("postgresql://", "postgresql+psycopg2://", 1)

    app = create_app(BenchConfig)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app


def serve_gunicorn(target: str, environment: dict) -> subprocess.Popen:
    """`target` on gunicorn, 2 sync workers, on a free port (`.port`), once a worker answers."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "--log-level",
            "warning",
            target,
        ],
        cwd=ROOT,
        env=environment,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:  # listening is not serving: wait for a worker to answer (any status)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            process.port = port
            return process
        except (http.client.HTTPException, OSError):
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"{target} did not start")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
