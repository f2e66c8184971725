"""A stateful Hypothesis test: any sequence of money operations keeps every invariant."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.extensions import db
from app.models import AccountKind, LoanStatus, Provider, ServicingStatus
from app.services.errors import DomainError
from app.services.lending import investing, issuance
from app.services.money import cash, ledger
from app.services.servicing import repayments, servicing
from tests.builders import key, lender, listed_loan

D = Decimal
dollars = st.integers(min_value=1, max_value=40).map(lambda n: D(n * 25))


class MoneyMachine(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.savepoint = db.session.begin_nested()
        self.today = date(2024, 1, 1)
        self.lenders = [lender(D("3000")) for _ in range(3)]
        self.listings, self.loans = [], []

    def now(self):
        return datetime.combine(self.today, time(12), tzinfo=UTC)

    @rule(who=st.integers(0, 2), amount=st.integers(1, 2000).map(lambda n: D(n)))
    def deposit(self, who, amount):
        cash.deposit(
            db.session,
            self.lenders[who].id,
            amount,
            provider=Provider.SIMULATED,
            idempotency_key=key(),
        )

    @rule(amount=st.integers(4, 60).map(lambda n: D(n * 25)), term=st.sampled_from([6, 12, 36]))
    def list_a_loan(self, amount, term):
        self.listings.append(listed_loan(str(amount), rate="13.5", term=term, now=self.now()))

    @precondition(lambda self: self.listings)
    @rule(who=st.integers(0, 2), pick=st.integers(0, 100), amount=dollars, fill=st.booleans())
    def invest(self, who, pick, amount, fill):
        loan = self.listings[pick % len(self.listings)]
        db.session.refresh(loan)
        if fill:  # take what is left, so loans issue and the servicing rules get exercised
            amount = loan.amount - loan.funded_amount
        try:
            investing.invest(
                db.session,
                lender_id=self.lenders[who].id,
                loan_id=loan.id,
                amount=amount,
                idempotency_key=key(),
                now=self.now(),
            )
        except DomainError:
            pass
        db.session.refresh(loan)
        if loan.status is LoanStatus.LISTED and loan.funded_amount == loan.amount:
            issuance.issue_loan(db.session, loan.id, today=self.today)
            self.listings.remove(loan)
            self.loans.append(loan)

    @precondition(lambda self: self.loans)
    @rule(pick=st.integers(0, 100), share=st.integers(1, 120))
    def pay(self, pick, share):
        loan = self.loans[pick % len(self.loans)]
        db.session.refresh(loan)
        if loan.servicing_status is ServicingStatus.PAID_OFF:
            return
        if loan.servicing_status is ServicingStatus.CHARGED_OFF:  # a recovery
            owed = ledger.balance_of(db.session, AccountKind.LOAN_RECEIVABLE, loan_id=loan.id)
        else:
            owed = repayments.payoff_amount(db.session, loan, self.today).total
        amount = min(owed, (loan.monthly_payment * share / 100).quantize(D("0.01")))
        if amount > 0:
            repayments.apply_payment(
                db.session, loan.id, amount, received_on=self.today, idempotency_key=key()
            )

    @rule(days=st.integers(1, 45))
    def time_passes(self, days):
        for _ in range(days):
            self.today += timedelta(days=1)
            servicing.run_cycle(db.session, self.today)
        self.listings = [loan for loan in self.listings if _still_listed(loan)]

    @precondition(lambda self: self.loans)
    @rule(pick=st.integers(0, 100))
    def charge_off(self, pick):
        loan = self.loans[pick % len(self.loans)]
        db.session.refresh(loan)
        if loan.servicing_status not in (ServicingStatus.PAID_OFF, ServicingStatus.CHARGED_OFF):
            servicing.charge_off(db.session, loan.id, self.today, reason="hypothesis")

    @invariant()
    def ledger_balances(self):
        if hasattr(self, "savepoint"):
            assert ledger.verify(db.session) == []

    def teardown(self):
        if hasattr(self, "savepoint"):
            self.savepoint.rollback()


def _still_listed(loan):
    db.session.refresh(loan)
    return loan.status is LoanStatus.LISTED


def test_money_invariants_hold_for_any_sequence(app):
    MoneyMachine.TestCase.settings = settings(
        max_examples=30,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    MoneyMachine.TestCase().runTest()
