"""A business date's autopay settlement file, applied as one set-based operation.

Most rows pay exactly the installment due that day on a loan with nothing else due: those
are applied together, in SQL, with the results `repayments.apply_payment` gives one by one (the
same payments, note shares by the largest-remainder rule on cumulative totals, servicing fees,
one journal entry per payment, the borrower's notice and the activity record). Every other
row (late, partial, early, a payoff, a repeated key, a second row for one loan) goes through
`apply_payment` itself, after the set.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.models import AccountKind, Provider
from app.services.errors import DomainError
from app.services.lending import strategies
from app.services.money import ledger
from app.services.platform import notifications
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.servicing import repayments
from app.services.servicing import settlement_sql as sql


@dataclass(frozen=True)
class SettlementRow:
    """One payment the provider settled: which loan, how much, and its key."""

    loan_id: int
    amount: Decimal
    idempotency_key: str
    payer_id: int | None = None
    provider: Provider = Provider.SIMULATED
    provider_ref: str | None = None


@dataclass(frozen=True)
class SettlementResult:
    together: int  # applied set-based
    one_by_one: int  # applied through apply_payment
    refused: list[tuple[SettlementRow, str]]  # rows no servicer could take, and why


def settle(
    session: Session,
    rows: list[SettlementRow],
    business_date: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> SettlementResult:
    """Apply a settlement file; see the module doc. Refused rows change nothing."""
    session.flush()
    # Hash the file's rows in memory, not in temporary files (this transaction only).
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    # The book is cached: fetch the file's few thousand note accounts by index, not by
    # reading the whole ledger (the default cost assumes spinning disks).
    session.execute(text("SET LOCAL random_page_cost = 1.1"))
    session.execute(text(sql.CREATE_STAGE))
    _stage(session, rows)
    together = _apply_together(session, business_date, policy)
    left = session.execute(text(sql.LEFT_FOR_ONE_BY_ONE)).scalars().all()
    session.execute(text("DROP TABLE settle_rows, settle_shares"))
    session.expire_all()  # set-based statements bypassed the identity map
    refused = []
    for index in left:
        row = rows[index]
        try:
            with session.begin_nested():
                repayments.apply_payment(
                    session,
                    row.loan_id,
                    row.amount,
                    received_on=business_date,
                    idempotency_key=row.idempotency_key,
                    payer_id=row.payer_id,
                    provider=row.provider,
                    provider_ref=row.provider_ref,
                    policy=policy,
                )
        except DomainError as error:
            refused.append((row, str(error)))
    return SettlementResult(together, len(left) - len(refused), refused)


AMOUNT = re.compile(r"\d{1,12}(\.\d{1,2})?")
FILE_COLUMNS = ("loan_id", "amount", "idempotency_key", "payer_id", "provider_ref")


def read_file(lines: Iterable[str], provider: Provider) -> tuple[list[SettlementRow], list[str]]:
    """A provider's settlement CSV (header: FILE_COLUMNS; payer_id and provider_ref may be
    empty) as rows, or the problem with each bad line; nothing half-read."""
    reader = csv.DictReader(lines)
    missing = [c for c in FILE_COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        return [], [f"the header lacks {', '.join(missing)}"]
    rows, errors = [], []
    for line, record in enumerate(reader, start=2):
        try:
            rows.append(_row(record, provider))
        except ValueError as error:
            errors.append(f"line {line}: {error}")
    return rows, errors


def _row(record: dict, provider: Provider) -> SettlementRow:
    text_amount = (record.get("amount") or "").strip()
    if not AMOUNT.fullmatch(text_amount) or Decimal(text_amount) <= 0:
        raise ValueError(f"amount {text_amount!r} is not dollars and cents above zero")
    key = (record.get("idempotency_key") or "").strip()
    if not key:
        raise ValueError("every payment needs its idempotency_key")
    loan, payer = (record.get(c) or "" for c in ("loan_id", "payer_id"))
    if not loan.strip().isdigit() or not (payer.strip() == "" or payer.strip().isdigit()):
        raise ValueError(f"loan_id {loan!r} and payer_id {payer!r} must be whole numbers")
    return SettlementRow(
        loan_id=int(loan),
        amount=Decimal(text_amount),
        idempotency_key=key,
        payer_id=int(payer) if payer.strip() else None,
        provider=provider,
        provider_ref=(record.get("provider_ref") or "").strip() or None,
    )


def _stage(session: Session, rows: list[SettlementRow]) -> None:
    """COPY the file into the staging table (one round trip, whatever its length)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for index, row in enumerate(rows):
        payer = "" if row.payer_id is None else row.payer_id
        writer.writerow(
            [index, row.loan_id, row.amount, row.idempotency_key, payer, row.provider.value,
             row.provider_ref or ""]
        )  # fmt: skip
    buffer.seek(0)
    session.connection().connection.cursor().copy_expert(sql.COPY_STAGE, buffer)


def _apply_together(session: Session, business_date: date, policy: LendingPolicy) -> int:
    """The set-based path: qualify, split, then write every table in one statement each."""
    day = {"day": business_date}
    session.execute(text("ANALYZE settle_rows"))  # temporary tables have no statistics
    session.execute(text(sql.QUALIFY), day)
    session.execute(text(sql.LOCK_LOANS))
    session.execute(text(sql.SHARES), {"pct": policy.servicing_fee_percent})
    session.execute(text(sql.DISQUALIFY_CLIPPED))
    session.execute(text("ANALYZE settle_rows, settle_shares"))
    count = session.execute(text("SELECT count(*) FROM settle_rows WHERE fast")).scalar_one()
    if not count:
        return 0
    lenders = session.execute(text(sql.LENDERS)).scalars().all()
    ledger.accounts_for(session, AccountKind.LENDER_CASH, "owner_id", lenders)
    params = {
        **day,
        "clearing": ledger.account(session, AccountKind.PROCESSOR_CLEARING).id,
        "revenue": ledger.account(session, AccountKind.FEE_REVENUE).id,
        "emailed": notifications.emailing(),  # the notices' emails, as `notify` would
    }
    for statement in sql.WRITES:
        session.execute(text(statement), params)
    first = session.execute(text("SELECT min(payment_id) FROM settle_rows")).scalar_one()
    strategies.repaid(session, lenders, dedupe_key=f"auto-settlement-{first}")
    return count
