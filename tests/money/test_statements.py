"""A year of one lender's activity through the real services (time replayed day by day), then
every monthly statement figure checked against the ledger walked independently
(tests/reference/statements.py), the months chained, and the tax package and the borrowers'
statements checked against allocations, trades, installments and payments."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AccountKind, AccountStatement, Payment, Provider, StatementKind
from app.services.money import cash, ledger
from app.services.servicing import repayments, servicing
from app.services.servicing import statements as loan_statements
from app.services.statements import issue, lender_month, periods
from app.services.trading import listings, market, trades
from tests.builders import assert_ledger_balances, issued_loan, key, lender
from tests.reference import statements as reference

D = Decimal
YEAR = 2025
ZERO = D("0.00")


def _at(day: date):
    return time_machine.travel(datetime.combine(day, time(12), tzinfo=UTC), tick=False)


class Year:
    """The replayed year: what happens on which day, and what the books said at each 1st."""

    def __init__(self):
        self.events: dict[date, list] = {}
        self.cash_at: dict[date, Decimal] = {}
        self.notes_at: dict[date, Decimal] = {}

    def on(self, day: date, action) -> None:
        self.events.setdefault(day, []).append(action)

    def run(self, lender_id: int, first: date, last: date) -> None:
        day = first
        while day <= last:
            with _at(day):
                if day.day == 1:
                    self.cash_at[day] = cash.available_cash(db.session, lender_id)
                    self.notes_at[day] = reference.notes_outstanding(db.session, lender_id)
                for action in self.events.get(day, []):
                    action(day)
                db.session.flush()
            day += timedelta(days=1)


def _pay(loan, amount=None):
    def action(day):
        due = amount or loan_statements.statement(db.session, loan, day).due_now
        repayments.apply_payment(
            db.session, loan.id, due or loan.monthly_payment, received_on=day,
            idempotency_key=key(),
        )  # fmt: skip

    return action


def build_year():
    """Lender L deposits, funds three loans, is repaid monthly (one payment late, with its
    fee), loses one loan to a charge-off and recovers part of it, buys a note and sells one on
    the secondary market, and withdraws; everything dated by the replayed clock."""
    year = Year()
    with _at(date(YEAR, 1, 1)):
        me = lender()
        other = lender(D("20000.00"))
        buyer = lender(D("20000.00"))
    state = {}
    year.on(date(YEAR, 1, 5), lambda day: _deposit(me.id, "10000.00"))

    def fund(day):
        for name, mine, theirs in (("a", "2000.00", "3000.00"), ("b", "1500.00", "1500.00"),
                                   ("c", "1000.00", "3000.00")):  # fmt: skip
            loan, notes = issued_loan([mine, theirs], lenders=[me, other], issued_on=day)
            state[name], state[f"{name}_notes"] = loan, notes

    year.on(date(YEAR, 1, 10), fund)
    for month in range(2, 13):
        due = date(YEAR, month, 10)
        year.on(due, lambda day: _pay(state["a"])(day))
        if month != 3:
            year.on(due, lambda day: _pay(state["b"])(day) if _open(state["b"]) else None)
    year.on(date(YEAR, 2, 10), lambda day: _pay(state["c"])(day))
    year.on(date(YEAR, 3, 26), lambda day: servicing.run_cycle(db.session, day))  # late fees
    year.on(date(YEAR, 3, 28), lambda day: _catch_up(state["b"], day))
    year.on(date(YEAR, 6, 15), lambda day: servicing.charge_off(
        db.session, state["c"].id, day, reason="bankruptcy"))  # fmt: skip
    year.on(date(YEAR, 8, 20), lambda day: _pay(state["c"], D("300.00"))(day))  # recovery
    year.on(date(YEAR, 5, 12), lambda day: _trade(state["a_notes"][1], me.id, day))
    year.on(date(YEAR, 9, 14), lambda day: _trade(state["b_notes"][0], buyer.id, day))
    year.on(date(YEAR, 11, 3), lambda day: _withdraw(me.id, "500.00"))
    year.run(me.id, date(YEAR, 1, 1), date(YEAR + 1, 1, 1))
    return year, me, state


def _catch_up(loan, day):
    """Pay what is due and the next installment: the running one, then the late fee."""
    due = loan_statements.statement(db.session, loan, day).due_now
    _pay(loan, due + loan.monthly_payment)(day)


def _open(loan) -> bool:
    return loan_statements.in_repayment(loan)


def _deposit(user_id, amount):
    cash.deposit(db.session, user_id, D(amount), provider=Provider.SIMULATED, idempotency_key=key())


def _withdraw(user_id, amount):
    cash.withdraw(db.session, user_id, D(amount), provider=Provider.SIMULATED,
                  idempotency_key=key())  # fmt: skip


def _trade(note, buyer_id, day):
    listing = listings.list_note(
        db.session, seller_id=note.lender_id, investment_id=note.id, markup_percent=D("1.5")
    )
    shown = market.offer(db.session, listing.id, day)
    trades.buy(
        db.session, buyer_id=buyer_id, listing_id=listing.id, expected_price=shown.quote.price,
        expected_status=shown.status, idempotency_key=key(), today=day,
    )  # fmt: skip


def _statements(kind, user_id):
    return {
        s.period_start: s.figures
        for s in db.session.scalars(
            select(AccountStatement).where(
                AccountStatement.kind == kind, AccountStatement.user_id == user_id
            )
        )
    }


def test_a_year_of_monthly_statements_agrees_with_the_ledger_walked_by_hand():
    year, me, _ = build_year()
    for number in range(1, 13):
        issue.issue_month(db.session, periods.month(YEAR, number))
    mine = _statements(StatementKind.LENDER_MONTH, me.id)
    assert len(mine) == 12
    cash_lines = reference.cash_by_month_and_kind(db.session, me.id)
    shares = reference.allocations_by_month(db.session, me.id)
    traded = reference.trades_by_month(db.session, me.id)
    charged = reference.charge_offs_by_month(db.session, me.id)
    for number in range(1, 13):
        start = date(YEAR, number, 1)
        month, s = f"{start:%Y-%m}", {k: D(v) for k, v in mine[start].items()}
        end = periods.month(YEAR, number).end
        assert s["opening_cash"] == year.cash_at[start], month
        assert s["closing_cash"] == year.cash_at[end], month
        assert s["notes_at_close"] == year.notes_at[end], month
        lines, share, trade = cash_lines[month], shares[month], traded[month]
        assert s["deposits"] == lines["deposit"]
        assert s["withdrawals"] == -lines["withdrawal"]
        assert s["invested"] == -lines["invest"]
        assert s["principal"] == share["principal"]
        assert s["interest"] == share["interest"]
        assert s["late_fees"] == share["late_fee"]
        assert s["recoveries"] == share["recovery"]
        assert s["servicing_fees"] == share["servicing_fee"]
        assert s["agency_fees"] == share["agency_fee"]
        assert s["notes_sold"] == trade["sold"] and s["trading_fees"] == trade["fees"]
        assert s["notes_bought"] == trade["bought"]
        assert s["charge_offs"] == charged[month]
        assert lines["repayment"] + lines["recovery"] == (
            share["principal"] + share["interest"] + share["late_fee"] + share["recovery"]
            - share["servicing_fee"] - share["agency_fee"]
        )  # fmt: skip
        assert s["closing_cash"] - s["opening_cash"] == sum(lines.values(), ZERO)
        if number > 1:
            assert D(mine[date(YEAR, number - 1, 1)]["closing_cash"]) == s["opening_cash"]
    december = mine[date(YEAR, 12, 1)]
    assert D(december["closing_cash"]) == ledger.balance_of(
        db.session, AccountKind.LENDER_CASH, owner_id=me.id
    )
    every = {name: sum((D(m[name]) for m in mine.values()), ZERO) for name in lender_month.LINES}
    for name in ("late_fees", "recoveries", "notes_sold", "notes_bought", "withdrawals",
                 "trading_fees", "deposits", "invested", "interest"):  # fmt: skip
        assert every[name] > 0, name  # the year exercised every kind of line
    assert sum((D(m["charge_offs"]) for m in mine.values()), ZERO) > 0
    assert_ledger_balances()


def test_the_tax_package_adds_up_the_year_and_splits_gains_by_holding_period():
    _, me, _ = build_year()
    for number in range(1, 13):
        issue.issue_month(db.session, periods.month(YEAR, number))
    issue.issue_year(db.session, periods.year(YEAR))
    package = {
        k: D(v) for k, v in _statements(StatementKind.LENDER_YEAR, me.id)[date(YEAR, 1, 1)].items()
    }
    shares = _year_sum(reference.allocations_by_month(db.session, me.id))
    traded = _year_sum(reference.trades_by_month(db.session, me.id))
    assert package["gross_interest"] == shares["interest"] > 0
    assert package["accrued_interest_sold"] == traded["accrued_sold"] > 0
    assert package["accrued_interest_bought"] == traded["accrued_bought"] > 0
    assert package["net_interest"] == (
        shares["interest"] + traded["accrued_sold"] - traded["accrued_bought"]
    )
    assert package["late_fees"] == shares["late_fee"] > 0
    assert package["servicing_fees"] == shares["servicing_fee"] > 0
    assert package["recoveries"] == shares["recovery"] == D("75.00")  # 1000/4000 of 300
    assert package["trading_fees"] == traded["fees"] > 0
    charged = sum(reference.charge_offs_by_month(db.session, me.id).values(), ZERO)
    assert package["charge_off_losses"] == charged > 0
    # Held from January to September: a short-term gain (or loss), none long term.
    assert package["short_term_gains"] == traded["gains"] and package["long_term_gains"] == 0
    assert package["realised_gains"] == traded["gains"]
    months = _statements(StatementKind.LENDER_MONTH, me.id).values()
    assert sum((D(m["interest"]) for m in months), ZERO) == package["gross_interest"]


def _year_sum(by_month: dict) -> dict:
    total: dict = {}
    for parts in by_month.values():
        for name, amount in parts.items():
            total[name] = total.get(name, ZERO) + amount
    return total


def test_borrower_statements_follow_the_installments_and_payments():
    _, _, state = build_year()
    for number in range(1, 13):
        issue.issue_month(db.session, periods.month(YEAR, number))
    issue.issue_year(db.session, periods.year(YEAR))
    loan = state["a"]
    months = _statements(StatementKind.BORROWER_MONTH, loan.borrower_id)
    assert len(months) == 12
    paid = list(db.session.scalars(select(Payment).where(Payment.loan_id == loan.id)))
    installments = loan_statements.statement(db.session, loan, date(YEAR, 12, 31)).installments
    for number in range(1, 13):
        period = periods.month(YEAR, number)
        figures = months[period.start]["loans"][str(loan.id)]
        in_month = [p for p in paid if period.start <= p.received_on < period.end]
        before_end = [p for p in paid if p.received_on < period.end]
        assert D(figures["payments"]) == sum((p.amount for p in in_month), ZERO)
        assert D(figures["interest"]) == sum((p.interest_applied for p in in_month), ZERO)
        assert D(figures["closing_balance"]) == loan.amount - sum(
            (p.principal_applied for p in before_end), ZERO
        )
        upcoming = [i for i in installments if i.due_date >= period.end]
        assert figures["next_due_date"] == upcoming[0].due_date.isoformat()
    assert D(months[date(YEAR, 1, 1)]["loans"][str(loan.id)]["lent"]) == loan.amount
    year_end = _statements(StatementKind.BORROWER_YEAR, loan.borrower_id)[date(YEAR, 1, 1)]
    # Every installment paid in the year: its interest is the year's, as the schedule says.
    interest = sum((i.interest_paid for i in installments), ZERO)
    assert D(year_end["loans"][str(loan.id)]["interest"]) == interest > 0
    charged_off = state["c"]
    year_c = _statements(StatementKind.BORROWER_YEAR, charged_off.borrower_id)[date(YEAR, 1, 1)]
    assert D(year_c["loans"][str(charged_off.id)]["recoveries"]) == D("300.00")
