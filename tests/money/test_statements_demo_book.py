"""Statements over the living demo book (built by seeds/, replayed over 240 business days):
every month of every lender reconciles, the months chain, and the year's figures agree with
the sum of its months."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import AccountStatement, StatementKind
from app.services.money import ledger
from app.services.servicing.amortization import add_months
from app.services.statements import issue, periods, tax
from seeds import book, demo

pytestmark = pytest.mark.committing
PAIRS = [
    ("interest", "gross_interest"),
    ("late_fees", "late_fees"),
    ("servicing_fees", "servicing_fees"),
    ("recoveries", "recoveries"),
    ("charge_offs", "charge_off_losses"),
    ("trading_fees", "trading_fees"),
]
SIZE = book.BookSize(issued=30, open_listings=6, lenders=8, days=240)


def test_every_month_of_the_demo_book_reconciles_and_chains(committed):
    demo.run(committed)
    book.run(committed, today=date.today(), size=SIZE)
    first = add_months(date.today().replace(day=1), -9)
    month = first
    while month < date.today().replace(day=1):
        issue.issue_month(committed, periods.month(month.year, month.month))
        month = add_months(month, 1)
    committed.commit()
    by_lender = defaultdict(dict)
    for row in committed.scalars(
        select(AccountStatement).where(AccountStatement.kind == StatementKind.LENDER_MONTH)
    ):
        by_lender[row.user_id][row.period_start] = {k: Decimal(v) for k, v in row.figures.items()}
    assert len(by_lender) >= SIZE.lenders
    for months in by_lender.values():
        starts = sorted(months)
        for earlier, later in zip(starts, starts[1:], strict=False):
            if add_months(earlier, 1) == later:
                assert months[earlier]["closing_cash"] == months[later]["opening_cash"]
        assert any(m["interest"] for m in months.values()) or len(months) < 3
    # The tax package's sums over the same span are the months' sums.
    span = tax.figures(committed, periods.Period(first, date.today().replace(day=1)))
    for lender, months in by_lender.items():
        for month_line, tax_line in PAIRS:
            total = sum((m[month_line] for m in months.values()), Decimal("0.00"))
            assert span.get(lender, {}).get(tax_line, Decimal("0.00")) == total
    assert ledger.verify(committed) == []
