"""Borrower statements of modified loans: a capitalised holiday grows what is owed and a
settlement forgives the rest, and both show as their own lines so each month still reconciles
(balance at end − balance at start = issued + capitalised − principal − recoveries − forgiven)."""

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import AccountStatement, ModificationKind, StatementKind
from app.services.collections import agency
from app.services.money import ledger
from app.services.servicing import hardship_desk, modifications, repayments, servicing
from app.services.statements import issue, periods
from tests.builders import issued_loan, key
from tests.money.test_hardship import ASKED, _loan_after_six, _through

D = Decimal


def _this_month() -> periods.Period:
    today = datetime.now(UTC).date()  # the plan's ledger entries are dated when posted
    return periods.month(today.year, today.month)


def _borrower_month(loan, period) -> dict:
    issue.issue_month(db.session, period)
    figures = db.session.scalars(
        select(AccountStatement.figures).where(
            AccountStatement.user_id == loan.borrower_id,
            AccountStatement.kind == StatementKind.BORROWER_MONTH,
            AccountStatement.period_start == period.start,
        )
    ).one()
    return {name: D(value) for name, value in figures["loans"][str(loan.id)].items()
            if name != "next_due_date" and value is not None}  # fmt: skip


def test_a_capitalised_holiday_is_its_own_line_and_the_month_reconciles():
    loan, _ = _loan_after_six()
    owed_before = ledger.balance_of(db.session, ledger.AccountKind.LOAN_RECEIVABLE, loan_id=loan.id)
    _through(loan, ModificationKind.HOLIDAY, {"months": 2})
    added = D("156.65")  # docs/lending-rules.md's worked example
    month = _borrower_month(loan, _this_month())
    assert month["opening_balance"] == owed_before
    assert month["interest_capitalised"] == added
    assert month["closing_balance"] == owed_before + added == loan.principal_outstanding
    # What is due next is the new schedule's payment, not the cancelled one's (327.34).
    assert month["next_due_amount"] == D("333.34")


def test_a_settlement_shows_the_lump_sum_then_what_was_forgiven():
    loan, _ = _loan_after_six()
    payoff = repayments.payoff_amount(db.session, loan, ASKED).total
    lump = (payoff * D("0.6")).quantize(D("0.01"), rounding="ROUND_CEILING")
    asked = modifications.request(
        db.session, loan.id, loan.borrower_id, ModificationKind.SETTLEMENT, {"amount": lump},
        "cannot pay", ASKED,
    )  # fmt: skip
    modifications.offer(db.session, asked.id, loan.borrower_id, ASKED)
    modifications.accept(db.session, asked.id, loan.borrower_id, ASKED)
    hardship_desk.record_settlement(db.session, asked.id, loan.borrower_id, lump, ASKED, "wire")
    july = _borrower_month(loan, periods.month(2024, 7))
    assert july["payments"] == lump + D("327.34")  # and July's installment
    left = july["closing_balance"]
    month = _borrower_month(loan, _this_month())
    assert month["opening_balance"] == left > 0
    assert month["forgiven"] == left
    assert month["closing_balance"] == 0


def test_a_recovery_through_an_agency_shows_the_agency_fee_and_reconciles():
    """G20 (docs/lending-rules.md): 1,234.57 recovered, 20 % to the agency, then 1 % servicing."""
    loan, notes = issued_loan(["2000", "3000", "5000"])
    servicing.charge_off(db.session, loan.id, date(2024, 3, 1), reason="bankruptcy")
    agency.send(db.session, loan.id, loan.borrower_id, date(2024, 3, 2))
    repayments.apply_payment(
        db.session, loan.id, D("1234.57"), received_on=date(2024, 4, 1), idempotency_key=key()
    )
    issue.issue_month(db.session, periods.month(2024, 4))
    issue.issue_year(db.session, periods.year(2024))
    big = notes[2].lender_id
    month = _figures(big, StatementKind.LENDER_MONTH, date(2024, 4, 1))
    assert (month["recoveries"], month["agency_fees"], month["servicing_fees"]) == (
        D("617.29"), D("123.46"), D("4.94"),
    )  # fmt: skip
    assert month["closing_cash"] - month["opening_cash"] == D("488.89")
    year = _figures(big, StatementKind.LENDER_YEAR, date(2024, 1, 1))
    assert (year["recoveries"], year["agency_fees"]) == (D("617.29"), D("123.46"))


def _figures(user_id, kind, start) -> dict:
    figures = db.session.scalars(
        select(AccountStatement.figures).where(
            AccountStatement.user_id == user_id,
            AccountStatement.kind == kind,
            AccountStatement.period_start == start,
        )
    ).one()
    return {name: D(value) for name, value in figures.items()}
