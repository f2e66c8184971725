"""The double-entry ledger: accounts, balanced journal entries (append-only), and verify()
(whose invariant queries live in `ledger_checks`)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from app.models import AccountKind, JournalEntry, LedgerAccount, NormalSide, Posting
from app.services.errors import InsufficientFunds, LedgerError
from app.services.money.ledger_checks import verify, verify_and_record  # noqa: F401 - ledger.verify
from app.services.money.money import ZERO, cents

# kind -> (normal side, may the balance go below zero on its normal side)
ACCOUNT_RULES = {
    AccountKind.LENDER_CASH: (NormalSide.CREDIT, False),
    AccountKind.LENDER_COMMITTED: (NormalSide.CREDIT, False),
    AccountKind.NOTE_PRINCIPAL: (NormalSide.CREDIT, False),
    AccountKind.LOAN_RECEIVABLE: (NormalSide.DEBIT, False),
    AccountKind.BORROWER_PAYABLE: (NormalSide.CREDIT, False),
    AccountKind.PROCESSOR_CLEARING: (NormalSide.DEBIT, True),
    AccountKind.FEE_REVENUE: (NormalSide.CREDIT, True),
    AccountKind.CREDIT_LOSSES: (NormalSide.CREDIT, False),
    AccountKind.PAYOUTS_OWED: (NormalSide.CREDIT, False),
    AccountKind.PAYOUTS_IN_TRANSIT: (NormalSide.DEBIT, False),
}
OVERDRAW_CONSTRAINT = "ck_ledger_accounts_balance_not_negative"


@dataclass(frozen=True)
class Leg:
    """One side of an entry: debits positive, credits negative."""

    account_id: int
    amount: Decimal


def debit(account: LedgerAccount, amount: Decimal) -> Leg:
    return Leg(account.id, amount)


def credit(account: LedgerAccount, amount: Decimal) -> Leg:
    return Leg(account.id, -amount)


def account_code(
    kind: AccountKind,
    *,
    owner_id: int | None = None,
    loan_id: int | None = None,
    investment_id: int | None = None,
) -> str:
    """The stable code naming an account, e.g. lender:12:cash or note:7:principal."""
    codes = {
        AccountKind.LENDER_CASH: f"lender:{owner_id}:cash",
        AccountKind.LENDER_COMMITTED: f"lender:{owner_id}:committed",
        AccountKind.NOTE_PRINCIPAL: f"note:{investment_id}:principal",
        AccountKind.LOAN_RECEIVABLE: f"loan:{loan_id}:receivable",
        AccountKind.BORROWER_PAYABLE: f"borrower:{owner_id}:payable",
        AccountKind.CREDIT_LOSSES: f"loan:{loan_id}:credit_losses",
        AccountKind.PROCESSOR_CLEARING: "platform:processor_clearing",
        AccountKind.PAYOUTS_OWED: "platform:payouts_owed",
        AccountKind.PAYOUTS_IN_TRANSIT: "platform:payouts_in_transit",
        AccountKind.FEE_REVENUE: "platform:fee_revenue",
    }
    return codes[kind]


def account(
    session: Session,
    kind: AccountKind,
    *,
    owner_id: int | None = None,
    loan_id: int | None = None,
    investment_id: int | None = None,
) -> LedgerAccount:
    """The account of `kind` for its owner/loan/note, created on first use."""
    code = account_code(kind, owner_id=owner_id, loan_id=loan_id, investment_id=investment_id)
    found = session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    if found is not None:
        return found
    owner = {"owner_id": owner_id, "loan_id": loan_id, "investment_id": investment_id}
    session.execute(
        pg_insert(LedgerAccount)
        .values(_new_account(code, kind, owner))
        .on_conflict_do_nothing(index_elements=["code"])
    )
    return session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).one()


def account_ids(session: Session, *wanted: tuple[AccountKind, dict]) -> list[int]:
    """The ids of the accounts `wanted` ((kind, owner) pairs, as `account` takes them), in
    order, creating the missing ones: one query when they all exist, three when not."""
    codes = [account_code(kind, **owner) for kind, owner in wanted]
    found = _ids_by_code(session, codes)
    missing = [
        (code, kind, owner)
        for code, (kind, owner) in zip(codes, wanted, strict=True)
        if code not in found
    ]
    if missing:
        session.execute(
            pg_insert(LedgerAccount)
            .values([_new_account(code, kind, owner) for code, kind, owner in missing])
            .on_conflict_do_nothing(index_elements=["code"])
        )
        found |= _ids_by_code(session, [code for code, _, _ in missing])
    return [found[code] for code in codes]


def _ids_by_code(session: Session, codes: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.code.in_(set(codes)))
    )
    return dict(rows.all())


def _new_account(code: str, kind: AccountKind, owner: dict) -> dict:
    """The row of a new, empty account; `owner` holds any of owner_id, loan_id, investment_id."""
    normal_side, allow_negative = ACCOUNT_RULES[kind]
    return {
        "code": code,
        "kind": kind,
        "normal_side": normal_side,
        "allow_negative": allow_negative,
        "owner_id": owner.get("owner_id"),
        "loan_id": owner.get("loan_id"),
        "investment_id": owner.get("investment_id"),
        "balance": ZERO,
        "created_at": datetime.now(UTC),
    }


# One balanced entry in one statement, whatever its number of legs (so compiled once): the
# postings' statement trigger checks the balance and moves every account's balance.
ENTRY = text("""
WITH entry AS (
    INSERT INTO journal_entries (kind, memo, effective_date, idempotency_key, reverses_entry_id,
                                 loan_id, user_id, details, created_at)
    VALUES (:kind, :memo, :effective_date, :idempotency_key, :reverses_entry_id, :loan_id,
            :user_id, :details, :created_at)
    RETURNING id
), legs AS (
    INSERT INTO postings (entry_id, account_id, amount)
    SELECT entry.id, leg.account_id, leg.amount
      FROM entry, unnest(CAST(:accounts AS bigint[]), CAST(:amounts AS numeric[]))
                  AS leg (account_id, amount)
)
SELECT id FROM entry
""").bindparams(bindparam("details", type_=JSONB))


def post(
    session: Session,
    kind: str,
    memo: str,
    legs: Iterable[Leg],
    *,
    idempotency_key: str | None = None,
    loan_id: int | None = None,
    user_id: int | None = None,
    details: dict | None = None,
    effective_date: datetime | None = None,
    reverses_entry_id: int | None = None,
) -> JournalEntry:
    """Write one balanced entry, atomically or not at all.

    Raises InsufficientFunds when a guarded account would be overdrawn, LedgerError for an
    unbalanced or malformed entry. Balances move in the database, in the same statement.
    """
    merged = _merge(legs)
    values = {
        "kind": kind,
        "memo": memo,
        "effective_date": effective_date or datetime.now(UTC),
        "idempotency_key": idempotency_key,
        "reverses_entry_id": reverses_entry_id,
        "loan_id": loan_id,
        "user_id": user_id,
        "details": details,
        "created_at": datetime.now(UTC),
    }
    try:
        with session.begin_nested():
            entry_id = session.execute(
                ENTRY,
                values | {"accounts": list(merged), "amounts": list(merged.values())},
            ).scalar_one()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        if constraint == OVERDRAW_CONSTRAINT:
            raise InsufficientFunds("There is not enough available cash for this.") from error
        raise LedgerError(f"the ledger refused entry {kind!r}: {error.orig}") from error
    _expire_balances(session, merged)
    entry = JournalEntry(id=entry_id, **values)
    make_transient_to_detached(entry)  # as written, without reading it back
    session.add(entry)
    return entry


def kind_balance(session: Session, kind: AccountKind) -> Decimal:
    """The balance of every account of `kind`, as the account's normal side reads it (fee
    revenue is one account plus the trading sub-accounts, for instance)."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(LedgerAccount.kind == kind)
    )
    return -total if ACCOUNT_RULES[kind][0] is NormalSide.CREDIT else total


def reverse(session: Session, entry_id: int, memo: str) -> JournalEntry:
    """Correct an entry the only allowed way: a new entry with every leg negated."""
    original = session.get(JournalEntry, entry_id)
    if original is None:
        raise LedgerError(f"no journal entry {entry_id}")
    legs = [Leg(p.account_id, -p.amount) for p in original.postings]
    return post(
        session,
        f"reversal:{original.kind}",
        memo,
        legs,
        loan_id=original.loan_id,
        user_id=original.user_id,
        reverses_entry_id=original.id,
    )


def balance(session: Session, account_id: int) -> Decimal:
    """An account's balance on its normal side (positive when it holds value)."""
    row = session.execute(
        select(LedgerAccount.balance, LedgerAccount.normal_side).where(
            LedgerAccount.id == account_id
        )
    ).one()
    return row.balance if row.normal_side is NormalSide.DEBIT else -row.balance


def balance_of(session: Session, kind: AccountKind, **owner) -> Decimal:
    """Balance of the account of `kind` for `owner` (zero when it does not exist yet)."""
    code = account_code(kind, **owner)
    row = session.execute(
        select(LedgerAccount.id).where(LedgerAccount.code == code)
    ).scalar_one_or_none()
    return ZERO if row is None else balance(session, row)


def _merge(legs: Iterable[Leg]) -> dict[int, Decimal]:
    merged: dict[int, Decimal] = {}
    for leg in legs:
        if not isinstance(leg.amount, Decimal) or leg.amount != cents(leg.amount):
            raise LedgerError(f"leg amount {leg.amount!r} is not a whole-cent Decimal")
        merged[leg.account_id] = merged.get(leg.account_id, ZERO) + leg.amount
    merged = {account_id: amount for account_id, amount in merged.items() if amount != 0}
    if len(merged) < 2:
        raise LedgerError("an entry needs at least two non-zero legs")
    if sum(merged.values(), ZERO) != 0:
        raise LedgerError(f"entry does not balance: legs sum to {sum(merged.values(), ZERO)}")
    return merged


def _expire_balances(session: Session, merged: dict[int, Decimal]) -> None:
    for obj in list(session.identity_map.values()):
        if isinstance(obj, LedgerAccount) and obj.id in merged:
            session.expire(obj, ["balance"])


def total_postings(session: Session) -> Decimal:
    """The sum of every posting ever written (always zero)."""
    return session.scalar(select(func.coalesce(func.sum(Posting.amount), 0)))


def accounts_for(
    session: Session, kind: AccountKind, key: str, ids: Iterable[int]
) -> dict[int, int]:
    """Account ids of `kind` for many owners/loans/notes at once (`key` names the id column),
    creating the missing ones in one statement."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    column = getattr(LedgerAccount, key)
    found = dict(
        session.execute(
            select(column, LedgerAccount.id).where(LedgerAccount.kind == kind, column.in_(ids))
        ).all()
    )
    missing = [i for i in ids if i not in found]
    if not missing:  # the usual case: compiling thousands of VALUES rows costs seconds
        return found
    rows = [_new_account(account_code(kind, **{key: i}), kind, {key: i}) for i in missing]
    session.execute(
        pg_insert(LedgerAccount).values(rows).on_conflict_do_nothing(index_elements=["code"])
    )
    created = session.execute(
        select(column, LedgerAccount.id).where(LedgerAccount.kind == kind, column.in_(missing))
    ).all()
    return found | dict(created)
