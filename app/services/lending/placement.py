"""Many notes at once (the auto-invest sweep, a strategy buying across loans), set-based.

`invest_many` gives each order exactly what `investing.invest` would give it, placed one after
another in the list's order: the same checks in the same order, the same refusals, word for
word, and the same rows. It locks every lender's cash row and every loan row up front (in id
order, so two placements never deadlock), decides the orders in memory against what it read,
then writes each table once.
"""

import dataclasses
import functools
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from app.models import AccountKind, Investment, Loan, LoanStatus, Role
from app.services.accounts import accounts
from app.services.errors import DomainError
from app.services.lending import investing, investing_sql
from app.services.money import idempotency, ledger
from app.services.policy import DEFAULT_POLICY, LendingPolicy


@dataclass(frozen=True)
class Order:
    lender_id: int
    loan_id: int
    amount: Decimal
    idempotency_key: str
    auto_reason: str | None = None
    strategy_id: int | None = None  # the auto-invest strategy that placed it


@dataclass(frozen=True)
class Note:
    """A note an order placed (or, for a repeated key, placed before): plain values."""

    id: int
    lender_id: int
    loan_id: int
    amount: Decimal
    auto_invest_reason: str | None


@dataclass
class _Book:
    """What the placement read under its locks, moved along as orders are accepted."""

    lenders: dict[int, tuple[str, bool]]
    cash: dict[int, tuple[int, Decimal]]  # lender -> (account id, available)
    committed: dict[int, int]  # lender -> account id
    loans: dict[int, Row]
    funded: dict[int, Decimal]
    held: dict[tuple[int, int], Decimal]
    suitability: dict[int, investing.Suitability]  # lender -> limit and what is in notes
    keys: dict[tuple[int, str], tuple[str, str, int | None]]  # scope, hash, resource id


def invest_many(
    session: Session,
    orders: list[Order],
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> list[Note | DomainError]:
    """Place `orders` in order; per order, its note (new or replayed) or why it was refused."""
    now = now or datetime.now(UTC)
    book = _read_locked(session, orders, policy)
    outcomes: list = []
    accepted: list[Order] = []
    claimed: dict[tuple[int, str], tuple[int, str]] = {}  # key -> (index in accepted, hash)
    for order in orders:
        outcome = _decide(book, order, claimed, policy, now)
        if outcome is None:
            claimed[(order.lender_id, order.idempotency_key)] = (len(accepted), _hash(order))
            outcome = ("placed", len(accepted))
            accepted.append(order)
        outcomes.append(outcome)
    placed = _write(session, book, accepted, now)
    replayed = _replayed(session, [o[1] for o in outcomes if o[0] == "replay"])
    return [_result(outcome, placed, replayed) for outcome in outcomes]


def _read_locked(session: Session, orders: list[Order], policy: LendingPolicy) -> _Book:
    lender_ids = sorted({o.lender_id for o in orders})
    loan_ids = sorted({o.loan_id for o in orders})
    people = session.execute(
        text("SELECT id, role, is_active, net_worth FROM users WHERE id = ANY(:ids)"),
        {"ids": lender_ids},
    ).all()
    lenders = {row.id: (row.role, row.is_active) for row in people}
    real_lenders = [i for i in lender_ids if lenders.get(i) == (Role.LENDER.value, True)]
    committed = ledger.accounts_for(session, AccountKind.LENDER_COMMITTED, "owner_id", real_lenders)
    cash = {
        row.owner_id: (row.id, row.available)
        for row in session.execute(
            text(
                "SELECT owner_id, id, -balance AS available FROM ledger_accounts "
                "WHERE kind = 'lender_cash' AND owner_id = ANY(:ids) ORDER BY id FOR UPDATE"
            ),
            {"ids": real_lenders},
        )
    }
    loans = {
        row.id: row
        for row in session.execute(
            text(
                "SELECT id, status, funding_deadline, amount, funded_amount FROM loans "
                "WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"
            ),
            {"ids": loan_ids},
        )
    }
    held = {
        (row.lender_id, row.loan_id): row.held
        for row in session.execute(
            text(
                "SELECT lender_id, loan_id, sum(amount) AS held FROM investments "
                "WHERE lender_id = ANY(:lenders) AND loan_id = ANY(:loans) "
                "AND status <> 'refunded' GROUP BY lender_id, loan_id"
            ),
            {"lenders": real_lenders, "loans": loan_ids},
        )
    }
    keys = {
        (row.user_id, row.key): (row.scope, row.request_hash, row.resource_id)
        for row in session.execute(
            text(
                "SELECT k.user_id, k.key, k.scope, k.request_hash, k.resource_id "
                "FROM idempotency_keys k JOIN unnest(CAST(:users AS int[]), CAST(:keys AS text[])) "
                "AS o (user_id, key) USING (user_id, key)"
            ),
            {"users": [o.lender_id for o in orders], "keys": [o.idempotency_key for o in orders]},
        )
    }
    funded = {loan_id: loan.funded_amount for loan_id, loan in loans.items()}
    suitability = _suitability(session, people, real_lenders, policy)
    return _Book(lenders, cash, committed, loans, funded, held, suitability, keys)


def _suitability(session: Session, people, real_lenders: list[int], policy) -> dict:
    """Each lender's suitability limit and what counts against it (under their cash lock)."""
    in_notes = dict(
        session.execute(
            text(
                "SELECT n.lender_id, " + investing_sql.EXPOSURE + " FROM investments n "
                "WHERE n.lender_id = ANY(:ids) GROUP BY n.lender_id"
            ),
            {"ids": real_lenders},
        ).all()
    )
    return {
        row.id: investing.Suitability(
            row.net_worth,
            policy.suitability_limit(row.net_worth),
            in_notes.get(row.id, Decimal("0.00")),
        )
        for row in people
    }


def _decide(book: _Book, order: Order, claimed: dict, policy: LendingPolicy, now: datetime):
    """None to accept; else ("replay", investment id) or ("refused", error), as invest would."""
    try:
        investing.check_amount(order.amount, policy)
        idempotency.check_key(order.idempotency_key)
    except DomainError as error:
        return ("refused", error)
    role, active = book.lenders.get(order.lender_id, (None, False))
    reason = accounts.inactive_reason(role, active, Role.LENDER, "invest")
    if reason:
        return ("refused", DomainError(reason))
    key = (order.lender_id, order.idempotency_key)
    if key in claimed:  # used earlier in this placement
        index, stored_hash = claimed[key]
        return (
            ("placed", index)
            if stored_hash == _hash(order)
            else ("refused", idempotency.mismatch())
        )
    if key in book.keys:
        scope, stored_hash, resource_id = book.keys[key]
        if scope != "invest" or stored_hash != _hash(order):
            return ("refused", idempotency.mismatch())
        return ("replay", resource_id)
    refusal = _refusal(book, order, policy, now)
    if refusal is not None:
        return ("refused", refusal)
    book.funded[order.loan_id] += order.amount
    book.held[(order.lender_id, order.loan_id)] = _held(book, order) + order.amount
    account_id, available = book.cash[order.lender_id]
    book.cash[order.lender_id] = (account_id, available - order.amount)
    room = book.suitability[order.lender_id]
    book.suitability[order.lender_id] = dataclasses.replace(
        room, in_notes=room.in_notes + order.amount
    )
    return None


def _refusal(book: _Book, order: Order, policy, now) -> DomainError | None:
    row = book.loans.get(order.loan_id)
    loan = (
        None
        if row is None
        else SimpleNamespace(  # what `investing.refusal` reads
            status=LoanStatus(row.status),
            funding_deadline=row.funding_deadline,
            amount_left=row.amount - book.funded[order.loan_id],
        )
    )
    available = book.cash.get(order.lender_id, (None, Decimal("0.00")))[1]
    room = book.suitability.get(order.lender_id, investing.Suitability(None, None, Decimal(0)))
    return investing.refusal(loan, order.amount, _held(book, order), available, policy, now, room)


@functools.lru_cache(maxsize=65_536)  # a sweep repeats few (loan, amount) pairs
def _hash_of(loan_id: int, amount_text: str) -> str:
    # Keyed by the amount's text: Decimal("25") == Decimal("25.00"), but their requests differ.
    return idempotency.request_hash({"loan_id": loan_id, "amount": amount_text})


def _hash(order: Order) -> str:
    return _hash_of(order.loan_id, str(order.amount))


def _held(book: _Book, order: Order) -> Decimal:
    return book.held.get((order.lender_id, order.loan_id), Decimal("0.00"))


def _write(session: Session, book: _Book, accepted: list[Order], now: datetime) -> list[Note]:
    """Every accepted order's rows, one statement per table; the new notes, in order."""
    if not accepted:
        return []
    count = len(accepted)
    note_ids = _next_ids(session, "investments_id_seq", count)
    entry_ids = _next_ids(session, "journal_entries_id_seq", count)
    rows = (
        (note, entry, o.lender_id, o.loan_id, o.amount, o.auto_reason, o.idempotency_key,
         _hash(o), str(o.amount), book.cash[o.lender_id][0], book.committed[o.lender_id],
         o.strategy_id)
        for o, note, entry in zip(accepted, note_ids, entry_ids, strict=True)
    )  # fmt: skip
    session.execute(text(STAGE))
    _copy(session, "placed_notes", rows)  # one round trip, whatever the count
    session.execute(text("ANALYZE placed_notes"))
    for statement in (NOTES, ENTRIES, POSTINGS, KEYS, AUDIT, LOANS, ISSUE):
        session.execute(text(statement), {"now": now})
    session.execute(text("DROP TABLE placed_notes"))
    for loan_id in book.loans:
        investing.expire(session, Loan, loan_id)
    return [
        Note(i, o.lender_id, o.loan_id, o.amount, o.auto_reason)
        for o, i in zip(accepted, note_ids, strict=True)
    ]


def _copy(session: Session, table: str, rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_text(value) for value in row) + "\n")
    buffer.seek(0)
    session.connection().connection.cursor().copy_expert(f"COPY {table} FROM STDIN", buffer)


def _copy_text(value) -> str:
    """A value in COPY's text format: \\N for NULL, the format's escapes for the rest."""
    if value is None:
        return "\\N"
    return str(value).translate(COPY_ESCAPES)


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _next_ids(session: Session, sequence: str, count: int) -> list[int]:
    return list(
        session.execute(
            text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :count)"),
            {"sequence": sequence, "count": count},
        ).scalars()
    )


def _replayed(session: Session, ids: list[int]) -> dict[int, Note]:
    if not ids:
        return {}
    found = session.execute(
        select(
            Investment.id,
            Investment.lender_id,
            Investment.loan_id,
            Investment.amount,
            Investment.auto_invest_reason,
        ).where(Investment.id.in_(ids))
    )
    return {row.id: Note(*row) for row in found}


def _result(outcome: tuple, placed: list[Note], replayed: dict[int, Note]):
    kind, value = outcome
    if kind == "refused":
        return value
    return replayed[value] if kind == "replay" else placed[value]


STAGE = """
CREATE TEMP TABLE placed_notes (
    note int, entry bigint, lender int, loan int, amount numeric(14, 2), reason text, key text,
    hash text, amount_text text, cash int, committed int, strategy int
)
"""

NOTES = """
INSERT INTO investments (id, loan_id, lender_id, amount, principal_outstanding, status,
                         auto_invested, auto_invest_reason, strategy_id, created_at, updated_at)
SELECT note, loan, lender, amount, 0, 'committed', reason IS NOT NULL, reason, strategy, :now,
       :now
  FROM placed_notes ORDER BY note
"""

ENTRIES = """
INSERT INTO journal_entries (id, kind, memo, effective_date, idempotency_key, loan_id, user_id,
                             created_at)
SELECT entry, 'invest', 'Note #' || note || ' in loan #' || loan, :now, 'invest:' || note,
       loan, lender, :now
  FROM placed_notes ORDER BY entry
"""

# One statement: the ledger's statement trigger moves each balance once for the whole placement.
POSTINGS = """
INSERT INTO postings (entry_id, account_id, amount)
SELECT entry, leg.account_id, leg.amount
  FROM placed_notes, LATERAL (VALUES (cash, amount), (committed, -amount)) leg (account_id, amount)
 ORDER BY entry
"""

KEYS = """
INSERT INTO idempotency_keys (user_id, key, scope, request_hash, status, response_code,
                              resource_type, resource_id, created_at, completed_at)
SELECT lender, key, 'invest', hash, 'done', 201, 'investment', note, :now, :now
  FROM placed_notes ORDER BY note
"""

AUDIT = """
INSERT INTO activity_logs (user_id, action, entity_type, entity_id, details, created_at)
SELECT lender, 'loan.invested', 'investments', note,
       jsonb_build_object('loan_id', loan, 'amount', amount_text, 'auto', reason), :now
  FROM placed_notes ORDER BY note
"""

LOANS = """
UPDATE loans l SET funded_amount = l.funded_amount + placed.total, updated_at = :now
  FROM (SELECT loan, sum(amount) AS total FROM placed_notes GROUP BY loan) placed
 WHERE l.id = placed.loan
"""

ISSUE = """
INSERT INTO outbox_messages (kind, payload, dedupe_key, status, attempts, max_attempts,
                             progress, created_at, available_at)
SELECT 'issue_loan', jsonb_build_object('loan_id', l.id), 'issue-loan-' || l.id, 'pending',
       0, 5, 0, :now, :now
  FROM loans l WHERE l.id IN (SELECT DISTINCT loan FROM placed_notes)
   AND l.funded_amount = l.amount
    ON CONFLICT (dedupe_key) DO NOTHING
"""
