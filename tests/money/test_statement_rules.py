"""The statement rules at their edges: the month by business date, entries of unknown kinds,
and a statement that does not reconcile is refused, not stored."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccountKind, AccountStatement
from app.services.money import ledger
from app.services.statements import issue, lender_month, periods, tax
from tests.statement_book import small_book

D = Decimal


def _post(kind, lender_id, amount, on: date):
    """An entry of `kind` moving `amount` from the platform's revenue to the lender's cash."""
    cash = ledger.account(db.session, AccountKind.LENDER_CASH, owner_id=lender_id)
    revenue = ledger.account(db.session, AccountKind.FEE_REVENUE)
    ledger.post(
        db.session, kind, "test", [ledger.debit(revenue, amount), ledger.credit(cash, amount)],
        effective_date=datetime(on.year, on.month, on.day, 23, 59, tzinfo=UTC),
    )  # fmt: skip


def test_the_month_is_the_business_date_and_unknown_kinds_are_other_lines():
    me, _, _ = small_book()
    _post("goodwill", me.id, D("7.00"), date(2025, 4, 30))  # the month's last business day
    _post("goodwill", me.id, D("5.00"), date(2025, 5, 1))  # the next month's first
    april = lender_month.figures(db.session, periods.month(2025, 4))[me.id]
    may = lender_month.figures(db.session, periods.month(2025, 5))[me.id]
    assert april["other"] == D("7.00") and may["other"] == D("5.00")
    assert may["opening_cash"] == april["closing_cash"]
    assert may["closing_cash"] - may["opening_cash"] == D("5.00")


def test_a_repayment_without_its_allocations_is_refused_and_nothing_is_stored():
    me, _, _ = small_book()
    _post("repayment", me.id, D("3.00"), date(2025, 4, 20))  # cash with no payment behind it
    with pytest.raises(lender_month.Unreconciled, match=f"Lender {me.id}"):
        issue.issue_month(db.session, periods.month(2025, 4))
    assert db.session.scalar(select(func.count()).select_from(AccountStatement)) == 0


def test_check_refuses_lines_that_do_not_add_up():
    figures = dict.fromkeys([*lender_month.LINES, "opening_cash", "closing_cash"], D("0.00"))
    figures |= {"opening_cash": D("10.00"), "deposits": D("5.00"), "closing_cash": D("15.00")}
    lender_month.check(1, figures)
    figures["closing_cash"] = D("15.01")
    with pytest.raises(lender_month.Unreconciled):
        lender_month.check(1, figures)


def test_long_term_means_held_more_than_a_year():
    assert not tax.held_long(date(2024, 3, 1), date(2025, 3, 1))  # 365 days
    assert tax.held_long(date(2024, 3, 1), date(2025, 3, 2))
    assert not tax.held_long(datetime(2025, 1, 1, 23, tzinfo=UTC), date(2025, 9, 1))


def test_the_previous_month_crosses_the_year():
    assert periods.previous_month(date(2026, 1, 1)) == periods.month(2025, 12)
    assert periods.previous_month(date(2026, 3, 31)).start == date(2026, 2, 1)
    assert periods.month(2026, 12).end == date(2027, 1, 1)
