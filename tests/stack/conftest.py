"""A stack of this machine's own services for the tests in this folder: a PostgreSQL primary,
its streaming replica (pg_basebackup), PgBouncer in transaction mode and Redis, in a folder and
on ports of their own (deploy/stack.py builds the same for `make stack`)."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from deploy.stack import Ports, Stack
from tests.mailbox import free_port


def new_stack(**environment: str) -> Stack:
    folder = Path(tempfile.mkdtemp(prefix="communitylend-stack-"))
    os.chmod(folder, 0o755)  # noqa: S103 - the postgres user must reach its own folder inside
    ports = Ports(*(free_port() for _ in range(len(Ports.__dataclass_fields__))))
    return Stack(folder, ports, extra_environment=environment)


@pytest.fixture(scope="module")
def stack_services():
    """The stack's services, migrated, for one test module; stopped and removed after it."""
    stack = new_stack()
    try:
        stack.start_services()
        stack.prepare_database(seed=False)
        yield stack
    finally:
        stack.stop_services()
        shutil.rmtree(stack.folder, ignore_errors=True)
