"""`make stack` itself (`python -m deploy.stack`), in a folder and on ports of its own: every
tier is a Procfile line under honcho, the data tier included. Through nginx the app answers
ready with its database migrated and seeded, the replica streams from the primary, a demo
lender signs in; and one SIGTERM stops every process it started."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg2
import pytest
import requests

from deploy.stack import ROOT, Ports
from tests.mailbox import free_port
from tests.stack.soak_clients import CSRF

pytestmark = pytest.mark.committing

LENDER = ("lender@demo.communitylend.example", "copper lantern meadow 17")


@pytest.fixture()
def make_stack():
    folder = Path(tempfile.mkdtemp(prefix="communitylend-stack-"))
    os.chmod(folder, 0o755)  # noqa: S103 - the postgres user must reach its own folder inside
    ports = Ports(*(free_port() for _ in range(len(Ports.__dataclass_fields__))))
    environment = {
        **os.environ,
        "STACK_DIR": str(folder),
        **{
            f"{name.upper()}_PORT": str(getattr(ports, name)) for name in Ports.__dataclass_fields__
        },
    }
    log = (folder / "make-stack.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "deploy.stack"], cwd=ROOT, env=environment, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        yield process, ports, folder
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for leftover in _processes_under(folder, ports):
            leftover.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _processes_under(folder: Path, ports: Ports) -> list[psutil.Process]:
    """Processes still running from this stack: its folder or one of its ports in the command
    line, or an environment that names its folder (honcho's children inherit STACK_DIR)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            line = " ".join(process.info["cmdline"] or [])
            if str(folder) in line or process.environ().get("STACK_DIR") == str(folder):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _ready(url: str, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    answer = {}
    while time.monotonic() < deadline:
        try:
            response = requests.get(f"{url}/readyz", timeout=5)
            answer = response.json()
            if response.status_code == 200:
                return answer
        except (requests.RequestException, ValueError):
            pass
        time.sleep(1)
    raise AssertionError(f"the stack never became ready: {answer}")


def test_make_stack_runs_every_tier_from_the_procfile_and_stops_with_one_signal(make_stack):
    process, ports, folder = make_stack
    url = f"http://127.0.0.1:{ports.nginx}"
    try:
        ready = _ready(url, 240)
    except AssertionError:
        print((folder / "make-stack.log").read_text()[-4000:])
        raise
    assert (ready["database"], ready["redis"], ready["migrations"]) == ("ok", "ok", "ok")
    with psycopg2.connect(host="127.0.0.1", port=ports.primary, user="postgres",
                          dbname="communitylend") as primary:  # fmt: skip
        with primary.cursor() as cursor:
            cursor.execute("SELECT state FROM pg_stat_replication")
            assert cursor.fetchall() == [("streaming",)]
    session = requests.Session()
    form = session.get(f"{url}/login", timeout=10).text
    token = CSRF.search(form)
    signed_in = session.post(f"{url}/login", timeout=10, data={
        "csrf_token": token.group(1) or token.group(2), "email": LENDER[0],
        "password": LENDER[1]})  # fmt: skip
    assert signed_in.status_code == 200 and signed_in.url.endswith("/lender/")

    running = {" ".join(p.cmdline()) for p in _processes_under(folder, ports)}
    assert f"-D {folder}/pg/replica" in " | ".join(running)  # the server itself, seen by the finder
    assert any("worker.py" in line for line in running) and any("nginx" in line for line in running)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=90) == 0
    deadline = time.monotonic() + 30
    while _processes_under(folder, ports) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_under(folder, ports) == []
