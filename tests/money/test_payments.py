"""Taking money through a gateway: applied at once, or only when the provider's notice arrives."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.integrations.payments import SimulatedGateway
from app.models import CashTransfer, Payment, Provider, ProviderEvent
from app.services.errors import DomainError, IdempotencyMismatch, ValidationFailed
from app.services.money import cash, payments
from app.services.money.money import from_cents, to_cents
from app.services.policy import DEFAULT_POLICY
from tests.builders import assert_ledger_balances, issued_loan, key, lender


class ConfirmsLaterGateway:
    """A provider that answers with a pending charge, as Stripe does; records what it was asked."""

    provider = Provider.STRIPE
    confirms_later = True

    def __init__(self):
        self.charges = []

    def charge(self, amount, *, metadata, key):
        self.charges.append((amount, metadata, key))
        return payments.Charge(reference=f"pi_{len(self.charges)}", client_secret="secret_1")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _pay(gateway, loan, amount: str, key: str) -> payments.PaymentResult:
    return payments.pay_loan(
        db.session,
        gateway,
        loan,
        Decimal(amount),
        payer_id=loan.borrower_id,
        key=key,
        today=date.today(),
        policy=DEFAULT_POLICY,
    )


def _succeeded(event_id: str, amount: Decimal, reference: str, metadata: dict):
    """A provider's 'the money arrived' notice, as the Stripe integration reads one."""
    return payments.Notice(
        id=event_id,
        type="payment_intent.succeeded",
        created=datetime.now(UTC),
        payload={},
        succeeded=True,
        amount=amount,
        reference=reference,
        metadata=metadata,
    )


@pytest.fixture()
def loan():
    loan, _ = issued_loan(["10000"], issued_on=date.today().replace(day=1))
    return loan


def test_simulated_payment_is_applied_at_once(loan):
    result = _pay(SimulatedGateway(), loan, "100.00", "k-1")
    assert result.payment.amount == Decimal("100.00")
    assert result.payment.provider_ref.startswith("sim_")
    assert len(result.payment.provider_ref) <= 120
    assert_ledger_balances()


def test_a_pending_charge_moves_no_money_until_the_notice(loan):
    gateway = ConfirmsLaterGateway()
    result = _pay(gateway, loan, "100.00", "k-2")
    assert result.payment is None and result.client_secret == "secret_1"
    assert _count(Payment) == 0
    ((amount, metadata, idempotency),) = gateway.charges
    # The provider sees one key per person: another borrower's "k-2" is another charge.
    assert amount == Decimal("100.00") and idempotency == f"loan-payment-{loan.borrower_id}-k-2"
    assert metadata["loan_id"] == str(loan.id) and metadata["kind"] == "loan_payment"
    notice = _succeeded("evt_1", amount, "pi_1", metadata)
    assert payments.record_notice(db.session, notice, Provider.STRIPE, DEFAULT_POLICY) is True
    assert payments.record_notice(db.session, notice, Provider.STRIPE, DEFAULT_POLICY) is False
    assert db.session.scalars(select(Payment)).one().provider_ref == "pi_1"
    assert_ledger_balances()


def test_a_payment_over_the_payoff_is_refused_before_the_provider_is_asked(loan):
    gateway = ConfirmsLaterGateway()
    with pytest.raises(DomainError):
        _pay(gateway, loan, "50000.00", "k-3")
    assert gateway.charges == []


def test_a_deposit_through_a_confirming_provider_waits_for_its_notice():
    user = lender()
    gateway = ConfirmsLaterGateway()
    started = payments.deposit(db.session, gateway, user.id, Decimal("250.00"), key=key())
    assert "when your bank confirms" in started.message
    assert started.reference == "pi_1" and started.client_secret == "secret_1"
    assert cash.available_cash(db.session, user.id) == Decimal("0.00")
    ((amount, metadata, _),) = gateway.charges
    notice = _succeeded("evt_2", amount, "pi_1", metadata)
    payments.record_notice(db.session, notice, Provider.STRIPE, DEFAULT_POLICY)
    assert cash.available_cash(db.session, user.id) == Decimal("250.00")
    assert_ledger_balances()


def test_a_bad_deposit_is_refused_before_the_provider_is_asked():
    gateway = ConfirmsLaterGateway()
    with pytest.raises(ValidationFailed):
        payments.deposit(db.session, gateway, lender().id, Decimal("0.001"), key=key())
    assert gateway.charges == [] and _count(CashTransfer) == 0


def test_a_refused_notice_is_recorded_and_leaves_no_money_behind(loan):
    metadata = {"kind": "loan_payment", "loan_id": str(loan.id), "payer_id": str(loan.borrower_id)}
    notice = _succeeded("evt_3", Decimal("99999.00"), "pi_9", metadata)
    with pytest.raises(DomainError) as refusal:
        payments.record_notice(db.session, notice, Provider.STRIPE, DEFAULT_POLICY)
    assert db.session.get(ProviderEvent, "evt_3").failure == refusal.value.message
    assert _count(Payment) == 0
    assert_ledger_balances()


@pytest.mark.parametrize(
    ("amount", "count"), [("0.01", 1), ("327.34", 32734), ("1000000.00", 100000000)]
)
def test_cents_round_trip(amount, count):
    assert to_cents(Decimal(amount)) == count
    assert from_cents(count) == Decimal(amount)


def test_to_cents_refuses_a_fraction_of_a_cent():
    with pytest.raises(ValueError, match="whole number of cents"):
        to_cents(Decimal("1.005"))


def test_two_borrowers_may_use_the_same_key(loan):
    other, _ = issued_loan(["5000"], issued_on=date.today().replace(day=1))
    mine = _pay(SimulatedGateway(), loan, "100.00", "same-key")
    theirs = _pay(SimulatedGateway(), other, "50.00", "same-key")
    assert mine.payment.id != theirs.payment.id
    assert (mine.payment.amount, theirs.payment.amount) == (Decimal("100.00"), Decimal("50.00"))
    assert _count(Payment) == 2
    assert_ledger_balances()


def test_the_same_key_for_another_payment_is_refused_and_moves_nothing(loan):
    _pay(SimulatedGateway(), loan, "100.00", "k-9")
    with pytest.raises(IdempotencyMismatch):
        _pay(SimulatedGateway(), loan, "120.00", "k-9")
    assert _pay(SimulatedGateway(), loan, "100.00", "k-9").payment.amount == Decimal("100.00")
    assert _count(Payment) == 1


def test_two_lenders_may_use_the_same_deposit_key():
    first, second = lender(), lender()
    for person in (first, second):
        payments.deposit(db.session, SimulatedGateway(), person.id, Decimal("75.00"), key="dep-1")
    assert cash.available_cash(db.session, first.id) == Decimal("75.00")
    assert cash.available_cash(db.session, second.id) == Decimal("75.00")
    again = payments.deposit(
        db.session, SimulatedGateway(), first.id, Decimal("75.00"), key="dep-1"
    )
    assert "added" in again.message and cash.available_cash(db.session, first.id) == Decimal(
        "75.00"
    )
    assert _count(CashTransfer) == 2
    assert_ledger_balances()
