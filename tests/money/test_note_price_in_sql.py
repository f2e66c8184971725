"""`note_quote` (SQL, inside buy_note) and `pricing.note_quote` (Python, what pages show) are two
implementations of one rule: held to the cent, note by note, day by day, through early,
partial and missed payments and the ends of February."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import text

from app.extensions import db
from app.services.policy import DEFAULT_POLICY
from app.services.servicing import repayments, servicing
from app.services.trading import book
from tests.builders import UNCAPPED, issued_loan, key, lender

D = Decimal
MARKUPS = (D("0"), D("-7.35"), D("3.33"), D("15"))


def _compare(loan, notes, day) -> int:
    schedule = book.open_installments(db.session, [loan.id])[loan.id]
    db.session.refresh(loan)
    checked = 0
    for note in notes:
        db.session.refresh(note)
        for markup in MARKUPS:
            ours = book.note_quote(note, loan, schedule, markup, day, DEFAULT_POLICY)
            theirs = db.session.execute(
                text("SELECT * FROM note_quote(:note, :markup, :fee, :day)"),
                {"note": note.id, "markup": markup, "fee": D("1"), "day": day},
            ).one()
            assert (theirs.principal, theirs.accrued, theirs.price, theirs.fee) == (
                ours.principal,
                ours.accrued_interest,
                ours.price,
                ours.fee,
            ), (note.id, markup, day)
            checked += 1
    return checked


def test_sql_and_python_price_every_note_alike_every_day():
    # Notes of $25, $75 and $2,900 in a $3,000 loan: shares with no finite decimal.
    owners = [lender(D("25")), lender(D("75")), lender(D("2900"))]
    loan, notes = issued_loan(
        ["25.00", "75.00", "2900.00"], rate="17.49", issued_on=date(2024, 1, 31), lenders=owners
    )
    assert loan.funded_amount == D("3000.00")
    payments = {
        date(2024, 2, 20): D("40.00"),  # partial, before the first due date (Feb 29)
        date(2024, 3, 29): "due",  # the rest, on time
        date(2024, 5, 10): D("500.00"),  # early and more than one installment
        # nothing in June and July: late
        date(2024, 8, 20): "due",
    }
    checked, day = 0, date(2024, 1, 31)
    while day <= date(2024, 9, 30):
        servicing.run_cycle(db.session, day)
        amount = payments.get(day)
        if amount == "due":
            amount = repayments.payoff_amount(db.session, loan, day).total
            amount = min(amount, loan.monthly_payment * 2)
        if amount:
            repayments.apply_payment(
                db.session,
                loan.id,
                amount,
                received_on=day,
                idempotency_key=key(),
                policy=UNCAPPED,
            )
        checked += _compare(loan, notes, day)
        day += timedelta(days=1)
    assert checked > 2000


def test_sql_days_30_360_matches_python_on_month_ends():
    from app.services.servicing.amortization import days_30_360

    starts = [date(2024, 2, 29), date(2023, 2, 28), date(2024, 1, 31), date(2024, 3, 30)]
    ends = [date(2024, 2, 29), date(2024, 3, 31), date(2025, 2, 28), date(2024, 12, 31)]
    for start in starts:
        for end in ends:
            sql = db.session.scalar(text("SELECT days_30_360(:a, :b)"), {"a": start, "b": end})
            assert sql == days_30_360(start, end), (start, end)
