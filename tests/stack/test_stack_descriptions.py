"""The production stack's descriptions, checked by the tools that will read them: Debian's
docker-compose reads compose.yaml, hadolint lints the Dockerfile, nginx tests its configuration
(with and without TLS, a self-signed certificate made here), and honcho reads the Procfile.
The Procfile and compose.yaml must describe the same application processes."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from honcho.environ import parse_procfile

from deploy.stack import Ports, write_nginx_config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
APP_PROCESSES = {"web1", "web2", "worker1", "worker2", "relay", "scheduler"}
REQUIRED = ("SECRET_KEY", "ENCRYPTION_KEYS", "POSTGRES_PASSWORD", "STRIPE_SECRET_KEY",
            "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "PUBLIC_URL")  # fmt: skip


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(BIN))
    if found is None:
        pytest.fail(f"{name} is not installed (.ci/run installs it)")
    return found


def _compose(**environment) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own arguments
        [_tool("docker-compose"), "-f", "compose.yaml", "config"],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env={"PATH": os.environ["PATH"], **environment},
    )  # fmt: skip


def test_compose_describes_every_tier_with_health_checks():
    done = _compose(**dict.fromkeys(REQUIRED, "x"))
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert set(services) == APP_PROCESSES | {"migrate", "nginx", "pgbouncer", "postgres", "redis"}
    long_running = set(services) - {"migrate"}
    assert all("healthcheck" in services[name] for name in long_running)
    pooler = services["pgbouncer"]["environment"]
    assert pooler["POOL_MODE"] == "transaction"
    # What the soak taught the stack's own PgBouncer (deploy/stack.py): survive a restart.
    assert pooler["SERVER_CHECK_DELAY"] == "0" and pooler["SERVER_LOGIN_RETRY"] == "1"
    assert "pgbouncer:6432" in services["web1"]["environment"]["DATABASE_URL"]
    assert "postgres:5432" in services["migrate"]["environment"]["DATABASE_URL"]


def test_compose_refuses_to_start_without_the_secrets():
    done = _compose(**dict.fromkeys(REQUIRED[1:], "x"))
    assert done.returncode != 0 and "set SECRET_KEY" in done.stderr


def test_the_procfile_runs_the_same_processes_as_compose():
    processes = parse_procfile((ROOT / "Procfile").read_text()).processes
    # compose's tiers, and a streaming replica compose leaves to the host (docs/operations.md)
    data_tier = {"postgres", "pgbouncer", "redis"}
    assert set(processes) == APP_PROCESSES | data_tier | {"nginx", "replica"}
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert data_tier | {"nginx"} <= set(services)
    for name in APP_PROCESSES:
        waits, command = processes[name].split(" && exec ")
        assert waits == "python -m deploy.stack wait"  # compose: depends_on the data tier
        assert set(services[name]["depends_on"]) >= {"pgbouncer", "redis"}
        wanted = " ".join(services[name]["command"])
        assert command.split()[0] == wanted.split()[0] and command.split()[-1] == wanted.split()[-1]


def test_the_dockerfile_passes_hadolint():
    done = subprocess.run(  # noqa: S603 - our own arguments
        [_tool("hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _nginx_test(folder: Path, tls: bool) -> subprocess.CompletedProcess:
    """nginx -t on deploy/nginx.conf as `make stack` writes it (this machine's gunicorns)."""
    if tls:
        subprocess.run(  # noqa: S603, S607 - openssl with our own arguments
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-keyout", str(folder / "privkey.pem"),
             "-out", str(folder / "fullchain.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
    config = write_nginx_config(folder, Ports(), tls=tls)
    return subprocess.run(  # noqa: S603 - our own arguments
        [_tool("nginx"), "-t", "-p", str(folder), "-c", str(config)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_nginx_accepts_its_configuration(tmp_path, tls):
    done = _nginx_test(tmp_path, tls)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
