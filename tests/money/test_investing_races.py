"""Investing races on real PostgreSQL: real commits, real threads, one session per attempt.

These check behaviour only (what the database holds and what each caller was told), never how
`investing.invest` takes its locks, so they hold for any correct implementation:

* 50 lenders race random amounts into one loan: no overfunding, the per-lender cap per loan,
  cash never negative and conserved per lender, every refusal a justified DomainError that
  changed nothing, the ledger append-only and balanced;
* one lender races into 20 loans at once with cash for exactly 10;
* one lender races 10 notes into one loan past the per-loan cap;
* eight copies of one idempotency key race: one note, one movement of cash.
"""

import random
import threading
import time
import traceback
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Investment, InvestmentStatus, JournalEntry, Loan, Posting
from app.services.errors import DomainError, InsufficientFunds, ListingClosed
from app.services.lending import investing
from app.services.money import cash, ledger
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from tests.builders import key, lender, listed_loan

D = Decimal
pytestmark = pytest.mark.committing

POLICY = DEFAULT_POLICY  # passed explicitly to every call; the caps below come from it
CAP = POLICY.max_investment_per_loan
UNIT = POLICY.note_unit
# The crowd race uses a lower cap so that many of its lenders can reach it within one loan.
CROWD_POLICY = LendingPolicy(max_investment_per_loan=D("1000.00"))
CROWD_SEED = 3  # the scenario is fixed; only the threads' interleaving varies between runs
JOIN_SECONDS = 60


class Ok:
    """A successful attempt: the note the caller got back."""

    def __init__(self, investment_id: int, amount: Decimal):
        self.investment_id = investment_id
        self.amount = amount

    def __repr__(self) -> str:
        return f"Ok(#{self.investment_id}, {self.amount})"


def _race(attempts: list[dict], policy=POLICY) -> list:
    """Run each attempt (lender_id, loan_id, amount, idempotency_key) in its own thread.

    Every thread has its own Session on the app's engine, waits at a barrier so all start
    together, commits on success and rolls back on a DomainError. Returns, per attempt, an
    Ok or the DomainError raised; anything else any thread raised fails the test.
    """
    engine = db.engine  # the threads have no app context of their own
    barrier = threading.Barrier(len(attempts))
    outcomes: list = [None] * len(attempts)
    unexpected: list[str] = []

    def run(index: int, attempt: dict) -> None:
        try:
            with Session(engine) as session:
                barrier.wait(timeout=JOIN_SECONDS)
                try:
                    note = investing.invest(session, policy=policy, **attempt)
                    result = Ok(note.id, note.amount)
                    session.commit()
                    outcomes[index] = result
                except DomainError as error:
                    session.rollback()
                    outcomes[index] = error
        except BaseException:  # noqa: BLE001 - any other failure is the finding
            unexpected.append(f"attempt {index} {attempt}:\n{traceback.format_exc()}")

    threads = [
        threading.Thread(target=run, args=(i, attempt), daemon=True)
        for i, attempt in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert stuck == [], f"attempts {stuck} did not finish within {JOIN_SECONDS}s"
    assert unexpected == [], "\n".join(unexpected)
    assert all(outcome is not None for outcome in outcomes)
    return outcomes


def _attempt(lender_id: int, loan_id: int, amount: Decimal, request_key: str | None = None):
    return {
        "lender_id": lender_id,
        "loan_id": loan_id,
        "amount": amount,
        "idempotency_key": request_key or key(),
    }


def _ledger_rows(session: Session):
    """Every journal entry and posting as plain tuples, in id order."""
    entries = session.execute(
        select(
            JournalEntry.id,
            JournalEntry.kind,
            JournalEntry.memo,
            JournalEntry.idempotency_key,
            JournalEntry.reverses_entry_id,
            JournalEntry.loan_id,
            JournalEntry.user_id,
        ).order_by(JournalEntry.id)
    ).all()
    postings = session.execute(
        select(Posting.id, Posting.entry_id, Posting.account_id, Posting.amount).order_by(
            Posting.id
        )
    ).all()
    return [tuple(row) for row in entries], [tuple(row) for row in postings]


def _assert_ledger_appended(before, after, new_entries: int) -> None:
    """Nothing written before the race changed; exactly `new_entries` balanced entries added."""
    entries_before, postings_before = before
    entries_after, postings_after = after
    assert entries_after[: len(entries_before)] == entries_before
    assert postings_after[: len(postings_before)] == postings_before
    added = entries_after[len(entries_before) :]
    assert len(added) == new_entries
    added_ids = {entry[0] for entry in added}
    sums: dict[int, Decimal] = defaultdict(D)
    for _, entry_id, _, amount in postings_after[len(postings_before) :]:
        assert entry_id in added_ids  # new postings belong to new entries only
        sums[entry_id] += amount
    assert set(sums) == added_ids  # every new entry has postings
    assert all(total == 0 for total in sums.values()), sums


def _notes(session: Session, **where) -> list[Investment]:
    query = select(Investment).where(Investment.status != InvestmentStatus.REFUNDED)
    for column, value in where.items():
        query = query.where(getattr(Investment, column) == value)
    return list(session.scalars(query.order_by(Investment.id)))


def _names_the_cap(error: DomainError, cap: Decimal = CAP) -> bool:
    return f"${cap:,.2f}" in error.message


def test_fifty_lenders_race_random_amounts_into_one_loan(committed):
    rng = random.Random(CROWD_SEED)
    cap = CROWD_POLICY.max_investment_per_loan
    loan = listed_loan("12500.00")
    deposits: dict[int, Decimal] = {}
    attempts = []
    for _ in range(50):
        deposit = rng.randrange(8, 81) * UNIT  # $200 .. $2,000
        person = lender(deposit)
        deposits[person.id] = deposit
        for _ in range(rng.choice((1, 2, 2, 3))):
            roll = rng.random()
            if roll < 0.15:  # over the per-loan cap on its own
                amount = cap + rng.randrange(1, 9) * UNIT
            elif roll < 0.3:  # more than this lender has
                amount = deposit + rng.randrange(1, 9) * UNIT
            elif roll < 0.55:  # half the cap or more: two of these together break it
                amount = rng.randrange(20, 41) * UNIT
            else:
                amount = rng.randrange(4, 21) * UNIT  # $100 .. $500
            attempts.append(_attempt(person.id, loan.id, amount))
    committed.commit()
    loan_amount = loan.amount
    rng.shuffle(attempts)

    # The scenario must force every kind of refusal. Each lender's first feasible ask would
    # succeed if the loan never ran out, so if these alone exceed the loan, some ask must be
    # refused for what is left in it.
    feasible = defaultdict(list)
    for attempt in attempts:
        if attempt["amount"] <= min(cap, deposits[attempt["lender_id"]]):
            feasible[attempt["lender_id"]].append(attempt["amount"])
    assert sum(min(asks) for asks in feasible.values()) > loan_amount
    assert sum(attempt["amount"] for attempt in attempts) > loan_amount
    assert any(cap < a["amount"] <= deposits[a["lender_id"]] for a in attempts)  # only the cap
    assert any(a["amount"] > deposits[a["lender_id"]] for a in attempts)  # the cash
    assert any(len(asks) > 1 and sum(asks) > cap for asks in feasible.values())  # cap in a race

    with Session(db.engine) as check:
        ledger_before = _ledger_rows(check)

    outcomes = _race(attempts, CROWD_POLICY)

    with Session(db.engine) as check:
        successes = [(a, o) for a, o in zip(attempts, outcomes, strict=True) if isinstance(o, Ok)]
        refusals = [
            (a, o) for a, o in zip(attempts, outcomes, strict=True) if not isinstance(o, Ok)
        ]
        assert successes and refusals

        # The loan: never overfunded, and funded by exactly the notes its callers were given.
        funded = check.scalar(select(Loan.funded_amount).where(Loan.id == loan.id))
        notes = _notes(check, loan_id=loan.id)
        assert funded == sum((note.amount for note in notes), D(0))
        assert funded <= loan_amount
        assert funded == sum((attempt["amount"] for attempt, _ in successes), D(0))
        assert len(notes) == len(successes)
        assert sorted(note.id for note in notes) == sorted(o.investment_id for _, o in successes)
        for attempt, outcome in successes:
            assert outcome.amount == attempt["amount"]
        left = loan_amount - funded

        # Each lender: within the cap, never negative, money conserved, and holding exactly
        # the notes of their successful attempts (so a refused attempt changed nothing).
        ok_by_lender = defaultdict(list)
        for attempt, _ in successes:
            ok_by_lender[attempt["lender_id"]].append(attempt["amount"])
        held: dict[int, Decimal] = {}
        final_cash: dict[int, Decimal] = {}
        for lender_id, deposit in deposits.items():
            theirs = _notes(check, lender_id=lender_id)
            assert all(note.loan_id == loan.id for note in theirs)
            assert sorted(note.amount for note in theirs) == sorted(ok_by_lender[lender_id])
            held[lender_id] = sum((note.amount for note in theirs), D(0))
            assert held[lender_id] <= cap
            final_cash[lender_id] = cash.available_cash(check, lender_id)
            committed_cash = cash.committed_cash(check, lender_id)
            assert final_cash[lender_id] >= 0
            assert committed_cash == held[lender_id]
            assert final_cash[lender_id] + committed_cash == deposit

        # Every refusal is a DomainError with a reason that was true when it was given (what is
        # left only shrinks, cash only falls and holdings only grow during the race).
        room_refusals = 0
        for attempt, error in refusals:
            assert isinstance(error, DomainError), error
            amount, lender_id = attempt["amount"], attempt["lender_id"]
            no_room = left < amount
            no_cash = final_cash[lender_id] < amount
            over_cap = held[lender_id] + amount > cap
            assert no_room or no_cash or over_cap, (attempt, error)
            if isinstance(error, InsufficientFunds):
                assert no_cash, (attempt, error)
            elif isinstance(error, ListingClosed):
                assert no_room, (attempt, error)
                room_refusals += 1
            else:
                assert type(error) is DomainError, (attempt, error)
                assert error.field == "amount", (attempt, error)
                if _names_the_cap(error, cap) and "left" not in error.message:
                    assert over_cap, (attempt, error)  # "you can hold at most $1,000.00"
                else:
                    assert no_room, (attempt, error)  # "only $X left in this loan"
                    room_refusals += 1
        # Some lender's first feasible ask must have found no room (see the scenario's checks).
        assert room_refusals > 0

        _assert_ledger_appended(ledger_before, _ledger_rows(check), new_entries=len(successes))
        problems = ledger.verify(check)
        assert problems == [], problems


def test_one_lender_races_into_twenty_loans_with_cash_for_ten(committed):
    deposit, amount, count = D("500.00"), D("50.00"), 20
    loans = [listed_loan("1000.00") for _ in range(count)]
    investor = lender(deposit)
    committed.commit()
    expected = int(deposit // amount)
    assert 0 < expected < count
    with Session(db.engine) as check:
        ledger_before = _ledger_rows(check)

    outcomes = _race([_attempt(investor.id, loan.id, amount) for loan in loans])

    successes = [o for o in outcomes if isinstance(o, Ok)]
    refusals = [o for o in outcomes if not isinstance(o, Ok)]
    assert len(successes) == expected
    assert len(refusals) == count - expected
    assert all(isinstance(error, InsufficientFunds) for error in refusals), refusals
    with Session(db.engine) as check:
        assert cash.available_cash(check, investor.id) == deposit - expected * amount == 0
        assert cash.committed_cash(check, investor.id) == expected * amount
        notes = _notes(check, lender_id=investor.id)
        assert sorted(n.id for n in notes) == sorted(o.investment_id for o in successes)
        assert len({note.loan_id for note in notes}) == expected  # one note per winning loan
        funded = dict(
            check.execute(
                select(Loan.id, Loan.funded_amount).where(Loan.id.in_([x.id for x in loans]))
            ).all()
        )
        for loan, outcome in zip(loans, outcomes, strict=True):
            assert funded[loan.id] == (amount if isinstance(outcome, Ok) else 0)
        _assert_ledger_appended(ledger_before, _ledger_rows(check), new_entries=expected)
        problems = ledger.verify(check)
        assert problems == [], problems


def test_one_lender_cannot_race_past_the_per_loan_cap(committed):
    ask = (CAP / 4 // UNIT) * UNIT  # a quarter of the cap, in whole notes
    threads = 10
    assert ask >= POLICY.minimum_investment and threads * ask > CAP
    expected = int(CAP // ask)
    loan = listed_loan("20000.00")  # room for every ask: only the cap can refuse
    investor = lender(threads * ask)  # cash for every ask: only the cap can refuse
    committed.commit()
    assert loan.amount >= threads * ask

    outcomes = _race([_attempt(investor.id, loan.id, ask) for _ in range(threads)])

    successes = [o for o in outcomes if isinstance(o, Ok)]
    refusals = [o for o in outcomes if not isinstance(o, Ok)]
    assert len(successes) == expected
    for error in refusals:
        assert type(error) is DomainError, error  # not a cash or listing refusal
        assert error.field == "amount"
        assert _names_the_cap(error), error.message
    with Session(db.engine) as check:
        held = investing.amount_held(check, investor.id, loan.id)
        assert held == expected * ask <= CAP
        assert check.scalar(select(Loan.funded_amount).where(Loan.id == loan.id)) == held
        assert cash.committed_cash(check, investor.id) == held
        assert cash.available_cash(check, investor.id) == threads * ask - held
        problems = ledger.verify(check)
        assert problems == [], problems


def test_eight_copies_of_one_idempotency_key_invest_once(committed):
    loan = listed_loan("5000.00")
    investor = lender(D("1000.00"))
    committed.commit()
    request_key, amount = key(), D("100.00")
    with Session(db.engine) as check:
        ledger_before = _ledger_rows(check)

    outcomes = _race([_attempt(investor.id, loan.id, amount, request_key) for _ in range(8)])

    assert all(isinstance(o, Ok) for o in outcomes), outcomes
    assert len({o.investment_id for o in outcomes}) == 1
    assert {o.amount for o in outcomes} == {amount}
    with Session(db.engine) as check:
        notes = _notes(check, lender_id=investor.id)
        assert [note.id for note in notes] == [outcomes[0].investment_id]
        assert (
            check.scalar(
                select(func.count()).select_from(Investment).where(Investment.loan_id == loan.id)
            )
            == 1
        )
        assert check.scalar(select(Loan.funded_amount).where(Loan.id == loan.id)) == amount
        assert cash.available_cash(check, investor.id) == D("900.00")
        assert cash.committed_cash(check, investor.id) == amount
        _assert_ledger_appended(ledger_before, _ledger_rows(check), new_entries=1)
        problems = ledger.verify(check)
        assert problems == [], problems
