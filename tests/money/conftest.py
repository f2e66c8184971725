"""Every money test ends with the ledger verified, whatever the test itself checked."""

import pytest

from app.extensions import db
from app.services.money import ledger


@pytest.fixture(autouse=True)
def _ledger_still_balances(request, app):
    yield
    if request.node.get_closest_marker("committing"):
        return  # these verify inside the test, before their tables are emptied
    if getattr(request.node, "rep_call", None) is None or request.node.rep_call.passed:
        problems = ledger.verify(db.session)
        assert problems == [], problems
