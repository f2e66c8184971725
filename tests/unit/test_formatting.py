"""How states, dates and rates read on pages (issue 16 defect 13: "late 16 30", ISO dates,
"31.000%")."""

from datetime import date
from decimal import Decimal

from app.formatting import day, pct, status_name
from app.models import InstallmentStatus, LoanStatus, ServicingStatus


def test_states_read_as_words():
    assert status_name(ServicingStatus.LATE_16_30) == "late 16–30 days"
    assert status_name(ServicingStatus.LATE_31_120) == "late 31–120 days"
    assert status_name(ServicingStatus.GRACE) == "in grace period"
    assert status_name(LoanStatus.PENDING_APPROVAL) == "pending approval"
    assert status_name(InstallmentStatus.PAID) == "paid"
    assert status_name(None) == "—"
    assert all("_" not in status_name(s) for s in (*LoanStatus, *ServicingStatus))


def test_dates_read_as_people_write_them():
    assert day(date(2027, 1, 29)) == "Jan 29, 2027"
    assert day(date(1979, 11, 3)) == "Nov 3, 1979"
    assert day(None) == "—"


def test_a_utilisation_shows_one_decimal():
    assert pct(Decimal("31.000"), 1) == "31.0%"
