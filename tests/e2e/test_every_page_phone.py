"""Every page of every role in real Chromium at phone width (390 px): nothing scrolls sideways,
and axe-core finds no serious or critical violation (test_every_page.py has desktop)."""

import pytest

from tests.e2e.test_every_page import ROLES, check_every_page

pytestmark = pytest.mark.committing


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_and_passes_axe_on_a_phone(browser, live_url, committed, role):
    check_every_page(browser, live_url, committed, role, "phone")
