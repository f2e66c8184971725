"""Bulk placement against its reference: the same orders placed one by one through `invest`.

Each random book is built once; the orders are placed set-based and, after rolling that back,
one by one. Every outcome (the note, or the refusal word for word) and every row that money,
audit and idempotency leave behind must be the same.
"""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from app.extensions import db
from app.models import Loan
from app.services.errors import DomainError
from app.services.lending import investing, placement
from app.services.money import idempotency, ledger
from tests.builders import key, lender, listed_loan
from tests.factories import UserFactory

D = Decimal
AMOUNTS = [D(25), D(50), D(75), D(100), D(250), D(500), D(1000), D(30), D(0)]


def _book(rng: random.Random):
    lenders = [lender(rng.choice([None, D(50), D(200), D(1000), D(5000)])) for _ in range(7)]
    for person in lenders:  # the suitability limit (10 % of net worth) binds some of them
        person.net_worth = rng.choice([None, D(2000), D(6000), D(10_000_000), D(10_000_000)])
    lenders.append(lender(D(1000)))  # holds a key from before the placement
    suspended = lender(D(500))
    suspended.is_active = False
    borrower = UserFactory()
    loans = [listed_loan(rng.choice(["500.00", "1000.00", "2500.00"])) for _ in range(4)]
    closed = listed_loan("1000.00")
    closed.funding_deadline = datetime.now(UTC) - timedelta(minutes=1)
    people = [u.id for u in lenders] + [suspended.id, borrower.id]
    loan_ids = [loan.id for loan in loans] + [closed.id, 999_999]
    held_key = key()  # a key a lender already used, before the placement
    investing.invest(
        db.session, lender_id=lenders[-1].id, loan_id=loans[0].id, amount=D(25),
        idempotency_key=held_key,
    )  # fmt: skip
    db.session.flush()
    return people, loan_ids, (lenders[-1].id, held_key, loans[0].id)


def _orders(rng: random.Random, people, loan_ids, held) -> list[placement.Order]:
    orders = []
    for _ in range(70):
        choice = rng.random()
        if choice < 0.08 and orders:  # the same key again: same request or a different one
            earlier = rng.choice(orders)
            amount = earlier.amount if rng.random() < 0.5 else rng.choice(AMOUNTS)
            orders.append(
                placement.Order(earlier.lender_id, earlier.loan_id, amount, earlier.idempotency_key)
            )
        elif choice < 0.12:  # the key used before the placement
            lender_id, held_key, loan_id = held
            amount = D(25) if rng.random() < 0.5 else D(50)
            orders.append(placement.Order(lender_id, loan_id, amount, held_key))
        else:
            reason = rng.choice([None, None, "Auto-invest: test", 'a\ttab, a \\ and "quotes"'])
            request_key = key() + rng.choice(["", "\\N", "\t\n"])  # COPY's special characters
            orders.append(
                placement.Order(
                    rng.choice(people),
                    rng.choice(loan_ids),
                    rng.choice(AMOUNTS),
                    request_key,
                    reason,
                )
            )
    return orders


def _described(outcome) -> tuple:
    if isinstance(outcome, DomainError):
        return ("refused", type(outcome).__name__, str(outcome), getattr(outcome, "field", None))
    return ("note", outcome.lender_id, outcome.loan_id, outcome.amount, outcome.auto_invest_reason)


def _one_by_one(orders: list[placement.Order]) -> list:
    outcomes = []
    for order in orders:
        try:
            outcomes.append(
                investing.invest(
                    db.session,
                    lender_id=order.lender_id,
                    loan_id=order.loan_id,
                    amount=order.amount,
                    idempotency_key=order.idempotency_key,
                    auto_reason=order.auto_reason,
                )
            )
        except DomainError as error:
            outcomes.append(error)
    return outcomes


SNAPSHOT = {
    "balances": "SELECT code, balance FROM ledger_accounts WHERE balance <> 0",
    "postings": "SELECT a.code, p.amount FROM postings p JOIN ledger_accounts a "
    "ON a.id = p.account_id",
    "entries": "SELECT kind, regexp_replace(memo, 'Note #[0-9]+', 'Note'), loan_id, user_id "
    "FROM journal_entries",
    "notes": "SELECT lender_id, loan_id, amount, status, auto_invested, auto_invest_reason "
    "FROM investments",
    "loans": "SELECT id, funded_amount, status FROM loans",
    "keys": "SELECT user_id, key, scope, request_hash, status, resource_type, response_code "
    "FROM idempotency_keys",
    "audit": "SELECT user_id, action, entity_type, details::text FROM activity_logs "
    "WHERE action = 'loan.invested'",
    "jobs": "SELECT kind, dedupe_key, payload::text FROM outbox_messages",
}


def _snapshot() -> dict:
    db.session.flush()
    state = {
        name: Counter(tuple(row) for row in db.session.execute(text(query)))
        for name, query in SNAPSHOT.items()
    }
    state["problems"] = ledger.verify(db.session)
    return state


@pytest.mark.parametrize("seed", range(6))
def test_invest_many_gives_what_investing_one_by_one_gives(seed):
    rng = random.Random(seed)
    people, loan_ids, held = _book(rng)
    orders = _orders(rng, people, loan_ids, held)

    with db.session.begin_nested() as together:
        bulk = [_described(o) for o in placement.invest_many(db.session, orders)]
        bulk_state = _snapshot()
        together.rollback()
    db.session.expire_all()
    with db.session.begin_nested() as apart:
        single = [_described(o) for o in _one_by_one(orders)]
        single_state = _snapshot()
        apart.rollback()

    assert bulk == single
    for name in SNAPSHOT:
        assert bulk_state[name] == single_state[name], (
            name,
            bulk_state[name] - single_state[name],
            single_state[name] - bulk_state[name],
        )
    assert bulk_state["problems"] == [] == single_state["problems"]
    placed = sum(1 for outcome in bulk if outcome[0] == "note")
    refused = Counter(outcome[1] for outcome in bulk if outcome[0] == "refused")
    assert placed and len(refused) >= 3  # the random book exercised notes and refusals


def test_a_placement_that_fills_a_loan_queues_its_issuance_once():
    loan = listed_loan("1000.00")
    lenders = [lender(D(1000)) for _ in range(4)]
    orders = [placement.Order(u.id, loan.id, D(250), key()) for u in lenders]
    orders.append(placement.Order(lenders[0].id, loan.id, D(25), key()))
    outcomes = placement.invest_many(db.session, orders)
    assert [isinstance(o, placement.Note) for o in outcomes] == [True] * 4 + [False]
    assert "fully funded" in str(outcomes[-1])
    assert db.session.get(Loan, loan.id).funded_amount == D(1000)
    jobs = db.session.execute(
        text("SELECT count(*) FROM outbox_messages WHERE kind = 'issue_loan'")
    ).scalar_one()
    assert jobs == 1
    assert ledger.verify(db.session) == []


def test_a_requests_fingerprint_follows_its_amount_as_written():
    """25 and 25.00 are equal Decimals but different request texts, as `invest` keys them
    (a cached fingerprint once answered for both: found by the differential test)."""
    loan = listed_loan("1000.00")
    first, second = lender(D(100)), lender(D(100))
    placement.invest_many(db.session, [placement.Order(first.id, loan.id, D("25.00"), "a")])
    placement.invest_many(db.session, [placement.Order(second.id, loan.id, D("25"), "b")])
    stored = dict(db.session.execute(text("SELECT key, request_hash FROM idempotency_keys")).all())
    assert stored == {
        "a": idempotency.request_hash({"loan_id": loan.id, "amount": "25.00"}),
        "b": idempotency.request_hash({"loan_id": loan.id, "amount": "25"}),
    }
