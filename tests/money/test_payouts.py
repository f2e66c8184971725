"""Withdrawals have states, and the ledger says where the money is at each one.

The oracle is a plain model kept in this file (amounts by state, summed by hand), not the
postings the service writes: after every step of a seeded random walk, the lender's cash, the
payouts-owed and in-transit accounts and the processor's clearing account must equal what the
model says, and ledger.verify() must be clean.
"""

import random
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AccountKind,
    CashTransfer,
    JournalEntry,
    Notification,
    PaymentStatus,
    PayoutState,
    Provider,
    Role,
)
from app.services.money import cash, ledger, payouts
from app.services.money.payouts import PayoutStepRefused
from tests.builders import D, assert_ledger_balances, key, lender
from tests.factories import UserFactory

ZERO = Decimal("0.00")


def _withdraw(user, amount: str) -> CashTransfer:
    return cash.withdraw(
        db.session, user.id, D(amount), provider=Provider.MANUAL, idempotency_key=key()
    )


def _platform(kind: AccountKind) -> Decimal:
    """What the platform account holds (on its normal side)."""
    return ledger.balance_of(db.session, kind)


def test_a_withdrawal_is_held_then_sent_then_settled():
    admin = UserFactory(role=Role.ADMIN)
    investor = lender(D("500.00"))
    clearing_before = ledger.balance_of(db.session, AccountKind.PROCESSOR_CLEARING)
    transfer = _withdraw(investor, "200.00")
    assert transfer.payout_state is PayoutState.REQUESTED
    assert transfer.status is PaymentStatus.PENDING
    assert cash.available_cash(db.session, investor.id) == D("300.00")
    assert _platform(AccountKind.PAYOUTS_OWED) == D("200.00")
    assert payouts.on_the_way(db.session, investor.id) == D("200.00")

    payouts.mark_sent(db.session, transfer.id, reference="BACS 0042", admin_id=admin.id)
    assert transfer.payout_state is PayoutState.SENT and transfer.payout_reference == "BACS 0042"
    assert _platform(AccountKind.PAYOUTS_IN_TRANSIT) == D("200.00")
    clearing = ledger.balance_of(db.session, AccountKind.PROCESSOR_CLEARING)
    assert clearing == clearing_before - D("200.00")  # the money left the platform's account

    payouts.mark_settled(db.session, transfer.id, admin_id=admin.id)
    assert transfer.status is PaymentStatus.SUCCEEDED and transfer.completed_at is not None
    assert _platform(AccountKind.PAYOUTS_OWED) == ZERO
    assert _platform(AccountKind.PAYOUTS_IN_TRANSIT) == ZERO
    assert cash.available_cash(db.session, investor.id) == D("300.00")
    assert payouts.on_the_way(db.session, investor.id) == ZERO
    assert_ledger_balances()


@pytest.mark.parametrize("sent_first", [False, True], ids=["refused", "returned"])
def test_a_failed_withdrawal_returns_the_cash(sent_first):
    admin = UserFactory(role=Role.ADMIN)
    investor = lender(D("500.00"))
    clearing_before = ledger.balance_of(db.session, AccountKind.PROCESSOR_CLEARING)
    transfer = _withdraw(investor, "125.50")
    if sent_first:
        payouts.mark_sent(db.session, transfer.id, reference="REF-1", admin_id=admin.id)
    payouts.mark_failed(db.session, transfer.id, reason="account closed", admin_id=admin.id)
    assert transfer.payout_state is PayoutState.FAILED and transfer.status is PaymentStatus.FAILED
    assert cash.available_cash(db.session, investor.id) == D("500.00")
    assert ledger.balance_of(db.session, AccountKind.PROCESSOR_CLEARING) == clearing_before
    assert _platform(AccountKind.PAYOUTS_OWED) == _platform(AccountKind.PAYOUTS_IN_TRANSIT) == ZERO
    notice = db.session.scalars(
        select(Notification).where(Notification.user_id == investor.id)
    ).one()
    assert notice.kind == "cash.withdrawal_failed" and "(account closed)" in notice.body
    assert_ledger_balances()


def test_steps_out_of_order_are_refused_and_move_nothing():
    admin = UserFactory(role=Role.ADMIN)
    investor = lender(D("100.00"))
    transfer = _withdraw(investor, "50.00")
    entries = db.session.scalar(select(func.count()).select_from(JournalEntry))
    with pytest.raises(PayoutStepRefused, match="is requested; it can't be marked settled"):
        payouts.mark_settled(db.session, transfer.id, admin_id=admin.id)
    payouts.mark_sent(db.session, transfer.id, reference="R", admin_id=admin.id)
    with pytest.raises(PayoutStepRefused, match="is sent; it can't be marked sent"):
        payouts.mark_sent(db.session, transfer.id, reference="R again", admin_id=admin.id)
    payouts.mark_settled(db.session, transfer.id, admin_id=admin.id)
    with pytest.raises(PayoutStepRefused, match="is settled; it can't be marked failed"):
        payouts.mark_failed(db.session, transfer.id, reason="late", admin_id=admin.id)
    with pytest.raises(PayoutStepRefused, match="no withdrawal #999999"):
        payouts.mark_sent(db.session, 999_999, reference="R", admin_id=admin.id)
    after = db.session.scalar(select(func.count()).select_from(JournalEntry))
    assert after == entries + 2  # sent and settled, nothing from the refusals
    assert_ledger_balances()


def test_a_random_walk_of_withdrawals_matches_a_plain_model():
    """200 steps over 5 lenders; the model below knows nothing of postings."""
    chance = random.Random(20261204)
    admin = UserFactory(role=Role.ADMIN)
    lenders = [lender(D("1000.00")) for _ in range(5)]
    model_cash = {person.id: D("1000.00") for person in lenders}
    states: dict[int, tuple[int, Decimal, str]] = {}  # transfer id -> (lender, amount, state)
    clearing_start = ledger.balance_of(db.session, AccountKind.PROCESSOR_CLEARING)
    visited = set()
    for _ in range(200):
        action = chance.choice(["ask", "ask", "send", "settle", "fail"])
        if action == "ask":
            person = chance.choice(lenders)
            amount = Decimal(chance.randint(1, 30000)) / 100
            if amount > model_cash[person.id]:
                continue
            transfer = _withdraw(person, str(amount))
            model_cash[person.id] -= amount
            states[transfer.id] = (person.id, amount, "requested")
            continue
        wanted = {"send": ("requested",), "settle": ("sent",), "fail": ("requested", "sent")}
        candidates = [t for t, (_, _, s) in states.items() if s in wanted[action]]
        if not candidates:
            continue
        chosen = chance.choice(candidates)
        owner, amount, _ = states[chosen]
        if action == "send":
            payouts.mark_sent(db.session, chosen, reference=f"R{chosen}", admin_id=admin.id)
            states[chosen] = (owner, amount, "sent")
        elif action == "settle":
            payouts.mark_settled(db.session, chosen, admin_id=admin.id)
            states[chosen] = (owner, amount, "settled")
        else:
            payouts.mark_failed(db.session, chosen, reason="returned", admin_id=admin.id)
            model_cash[owner] += amount
            states[chosen] = (owner, amount, "failed")

        def total(*wanted_states):
            return sum((a for _, a, s in states.values() if s in wanted_states), ZERO)

        assert _platform(AccountKind.PAYOUTS_OWED) == total("requested", "sent")
        assert _platform(AccountKind.PAYOUTS_IN_TRANSIT) == total("sent")
        clearing = ledger.balance_of(db.session, AccountKind.PROCESSOR_CLEARING)
        assert clearing == clearing_start - total("sent", "settled")
        for person in lenders:
            assert cash.available_cash(db.session, person.id) == model_cash[person.id]
        visited.update(s for _, _, s in states.values())
    assert visited == {"requested", "sent", "settled", "failed"}  # the walk took every step
    assert_ledger_balances()


def test_verify_notices_payout_accounts_that_disagree_with_the_withdrawals():
    investor = lender(D("100.00"))
    transfer = _withdraw(investor, "30.00")
    transfer.payout_state = PayoutState.SENT  # a state changed without its posting
    db.session.flush()
    problems = ledger.verify(db.session)
    assert problems == [
        "payouts_in_transit holds 0.00 but the withdrawals on their way add up to 30.00"
    ]
    transfer.payout_state = PayoutState.REQUESTED  # as it was: the suite checks every ledger
    db.session.flush()


@pytest.mark.committing
def test_two_admins_marking_the_same_withdrawal_sent_move_the_money_once(app, committed):
    admin = UserFactory(role=Role.ADMIN)
    investor = lender(D("100.00"))
    transfer = _withdraw(investor, "80.00")
    committed.commit()
    barrier = threading.Barrier(2)
    outcomes = []

    def click(reference: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                payouts.mark_sent(db.session, transfer.id, reference=reference, admin_id=admin.id)
                db.session.commit()
                outcomes.append("sent")
            except PayoutStepRefused:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click, args=(f"R{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "sent"]
    committed.expire_all()
    assert _platform(AccountKind.PAYOUTS_IN_TRANSIT) == D("80.00")
    assert_ledger_balances()
