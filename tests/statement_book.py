"""A small book for the statement tests: one lender and one borrower through March and April
2025, replayed on the clock (time-machine) so every entry carries its business date."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import time_machine

from app.extensions import db
from app.services.servicing import repayments
from tests.builders import issued_loan, key, lender

D = Decimal


def at(day: date):
    return time_machine.travel(datetime.combine(day, time(12), tzinfo=UTC), tick=False)


def small_book():
    """The lender's $1,000 note in a $4,000 loan issued 2025-03-05 and paid once, 2025-04-05."""
    with at(date(2025, 3, 3)):
        me, other = lender(D("1500.00")), lender(D("3000.00"))
    with at(date(2025, 3, 5)):
        loan, _ = issued_loan(
            ["1000.00", "3000.00"], lenders=[me, other], issued_on=date(2025, 3, 5)
        )
    with at(date(2025, 4, 5)):
        repayments.apply_payment(
            db.session, loan.id, loan.monthly_payment, received_on=date(2025, 4, 5),
            idempotency_key=key(),
        )  # fmt: skip
    db.session.flush()
    return me, other, loan
