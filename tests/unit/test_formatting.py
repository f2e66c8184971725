"""How states, dates and rates read on pages (issue 16 defect 13: "late 16 30", ISO dates,
"31.000%")."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from app.formatting import day, pct, status_name, when
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
    moment = datetime(2027, 1, 29, 14, 5, 9, tzinfo=UTC)
    assert day(moment) == "Jan 29, 2027"
    assert when(moment) == "Jan 29, 2027 14:05"
    assert when(moment, seconds=True) == "Jan 29, 2027 14:05:09"


def test_no_page_writes_its_own_date_format():
    templates = Path(__file__).resolve().parents[2] / "app" / "templates"
    assert [p.name for p in templates.rglob("*.html") if "strftime" in p.read_text()] == []


def test_a_utilisation_shows_one_decimal():
    assert pct(Decimal("31.000"), 1) == "31.0%"
