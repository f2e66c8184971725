"""The soak, short: the whole stack (nginx, two gunicorns, two RQ workers, relay, scheduler,
PgBouncer, PostgreSQL, Redis, a real SMTP server) under simulated lenders and borrowers for a
45 seconds while a worker is killed mid-job, a web node is killed, Redis restarts and PostgreSQL
restarts. The long run is `python -m tests.stack.soak` (docs/operations.md has its figures)."""

import pytest

from tests.stack.soak_run import run_soak

pytestmark = pytest.mark.committing


def test_the_stack_keeps_every_promise_through_its_faults():
    report = run_soak(lenders=6, borrowers=3, seconds=45, seed=18)
    print(report.table())
    assert [f.name.split(" ")[0] for f in report.faults] == ["SIGKILL", "SIGKILL", "restart",
                                                            "restart"]  # fmt: skip
    assert report.problems() == []
    kinds = {o.kind for o in report.outcomes if o.result == "done"}
    assert {"deposit", "invest", "withdraw", "pay", "apply"} <= kinds
    assert report.supervisor_restarts["worker1"] >= 1 and report.supervisor_restarts["web1"] >= 1
