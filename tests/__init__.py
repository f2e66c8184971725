"""The test suite.

`make test` runs it on two pytest-xdist workers, whole files to a worker. Each worker has a
database and a Redis database of its own, named here: this package is imported before
`tests/conftest.py`, so before anything reads `config.TestConfig`.
"""

import os

_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", … (unset without xdist)
if _WORKER:
    _database = os.environ.get(
        "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/communitylend_test"
    )
    os.environ["TEST_DATABASE_URL"] = f"{_database}_{_WORKER}"
    _redis, _, _number = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13").rpartition(
        "/"
    )
    os.environ["TEST_REDIS_URL"] = f"{_redis}/{int(_number) - int(_WORKER[2:])}"
