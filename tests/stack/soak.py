"""The soak: the whole stack under simulated people while its parts fail.

`make stack`'s processes (the Procfile: nginx, two gunicorns, two RQ workers, relay, scheduler,
each restarted when it dies, as compose's `restart: unless-stopped` does) over its services (a
PostgreSQL primary behind PgBouncer, Redis), with a real SMTP server taking the email. Lenders
and borrowers (soak_clients.py) deposit, invest, withdraw, pay and apply while the soak kills a
worker with SIGKILL in the middle of its job, kills a web node, restarts Redis and restarts
PostgreSQL. Then it lets the jobs drain and checks the books against what the clients heard.

Short, in `make test`: tests/stack/test_soak.py. Long, by hand:

    python -m tests.stack.soak --lenders 35 --borrowers 15 --seconds 300
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from honcho.environ import parse_procfile

from deploy.stack import ROOT, SERVICES, Stack

RESTART_AFTER_SECONDS = 1.0


@dataclass
class Fault:
    name: str
    started: float
    ended: float | None = None


class Supervisor:
    """Runs the Procfile's processes, each in its own process group, and restarts any that
    dies (a fault the soak injects, or a crash) until stopped. The data tier's lines are left
    out: the soak runs those services itself, to restart them as faults."""

    def __init__(self, stack: Stack):
        self.stack = stack
        every = parse_procfile((ROOT / "Procfile").read_text()).processes
        self.commands = {name: line for name, line in every.items() if name not in SERVICES}
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = dict.fromkeys(self.commands, 0)
        self.stopping = threading.Event()
        self.logs = stack.folder / "logs"
        self.logs.mkdir(exist_ok=True)
        self.watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        for name in self.commands:
            self._start(name)
        self.watcher.start()

    def _start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("a")
        self.processes[name] = subprocess.Popen(  # noqa: S603 - the Procfile's own commands
            ["/bin/sh", "-c", self.commands[name]], cwd=ROOT,
            env=self.stack.environment(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def _watch(self) -> None:
        while not self.stopping.is_set():
            for name, process in list(self.processes.items()):
                if process.poll() is not None and not self.stopping.is_set():
                    time.sleep(RESTART_AFTER_SECONDS)
                    self.restarts[name] += 1
                    self._start(name)
            time.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything it started (a gunicorn's workers, an RQ
        worker's work-horse): no chance to finish or tidy up."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)

    def stop(self) -> None:
        self.stopping.set()
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def log_lines(self, prefix: str) -> list[str]:
        lines = []
        for path in sorted(self.logs.glob(f"{prefix}*.log")):
            lines += path.read_text(errors="replace").splitlines()
        return lines


@dataclass
class Faults:
    """Each fault at its moment in the run, with when it began and when the system was back."""

    supervisor: Supervisor
    stack: Stack
    done: list[Fault] = field(default_factory=list)

    def worker_mid_job(self) -> None:
        """SIGKILL a worker while its work-horse runs a job (waits up to 10 s for one)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _busy_horse(self.supervisor, "worker1"):
            time.sleep(0.02)
        self._timed("SIGKILL worker1 mid-job", lambda: self.supervisor.kill("worker1"))

    def web_node(self) -> None:
        self._timed("SIGKILL web1 (gunicorn and its workers)", lambda: self.supervisor.kill("web1"))

    def redis_restart(self) -> None:
        def restart():
            self.stack.stop_redis()
            time.sleep(2)
            self.stack.start_redis()

        self._timed("restart Redis (down 2 s, its queues lost)", restart)

    def postgres_restart(self) -> None:
        self._timed("restart PostgreSQL (pg_ctl restart -m fast)", self.stack.restart_postgres)

    def _timed(self, name: str, action) -> None:
        fault = Fault(name, time.monotonic())
        action()
        fault.ended = time.monotonic()
        self.done.append(fault)


def _busy_horse(supervisor: Supervisor, name: str) -> bool:
    """An RQ worker forks a work-horse per job: a child process means a job is running."""
    pid = supervisor.processes[name].pid
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return bool(children.read_text().split())
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lenders", type=int, default=35)
    parser.add_argument("--borrowers", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=18)
    arguments = parser.parse_args()
    from tests.stack.soak_run import run_soak

    report = run_soak(arguments.lenders, arguments.borrowers, arguments.seconds, arguments.seed)
    print(report.table())
    print(json.dumps(report.summary()))
    sys.exit(0 if not report.problems() else 1)


if __name__ == "__main__":
    main()
