"""Collection agencies: a charged-off loan an admin sent to one pays it a share of each recovery.

The fee is `fee_percent` of the recovery, half-even to the cent once per payment, taken before
the noteholders' pro-rata split; it is shared across the notes by note amount as every other
part of a payment is (cumulatively, largest remainder, ties to the lowest note id) and
recorded on each allocation (`agency_fee`). It is credited to the fee-revenue sub-account
`platform:fee_revenue:collection_agency`, from which the agency is paid outside the platform.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.models import (
    AccountKind,
    AgencyPlacement,
    LedgerAccount,
    Loan,
    NormalSide,
    ServicingStatus,
)
from app.services.errors import DomainError
from app.services.money import ledger
from app.services.money.money import ZERO, cents
from app.services.platform import activity
from app.services.policy import DEFAULT_POLICY, LendingPolicy

ACCOUNT_CODE = "platform:fee_revenue:collection_agency"


def fee_percent(session: Session, loan_id: int) -> Decimal:
    """The agency's share of this loan's recoveries (zero unless it was sent to one)."""
    percent = session.scalar(
        select(AgencyPlacement.fee_percent).where(AgencyPlacement.loan_id == loan_id)
    )
    return ZERO if percent is None else percent


def fee_on(recovery: Decimal, percent: Decimal) -> Decimal:
    """The agency fee on one recovery payment: one rounding, half-even to the cent."""
    return cents(recovery * percent / 100)


def account(session: Session) -> LedgerAccount:
    """The fee-revenue sub-account agency fees are credited to, created on first use."""
    found = session.scalar(select(LedgerAccount).where(LedgerAccount.code == ACCOUNT_CODE))
    if found is not None:
        return found
    session.execute(
        pg_insert(LedgerAccount)
        .values(
            code=ACCOUNT_CODE,
            kind=AccountKind.FEE_REVENUE,
            normal_side=NormalSide.CREDIT,
            allow_negative=True,
            balance=ZERO,
        )
        .on_conflict_do_nothing(index_elements=["code"])
    )
    return session.scalars(select(LedgerAccount).where(LedgerAccount.code == ACCOUNT_CODE)).one()


def recoverable(session: Session, loan_id: int) -> Decimal:
    """What is left to recover on a charged-off loan (its receivable)."""
    return ledger.balance_of(session, AccountKind.LOAN_RECEIVABLE, loan_id=loan_id)


def send(
    session: Session,
    loan_id: int,
    admin_id: int,
    today: date,
    policy: LendingPolicy = DEFAULT_POLICY,
) -> AgencyPlacement:
    """Send a charged-off loan to a collection agency at the policy's fee (once)."""
    loan = session.get(Loan, loan_id, with_for_update=True)
    if loan is None or loan.servicing_status is not ServicingStatus.CHARGED_OFF:
        raise DomainError(
            "Only a charged-off loan can be sent to a collection agency.", field="outcome"
        )
    if session.scalar(select(AgencyPlacement.id).where(AgencyPlacement.loan_id == loan_id)):
        raise DomainError(f"Loan #{loan_id} is already with a collection agency.", field="outcome")
    placement = AgencyPlacement(
        loan_id=loan_id,
        fee_percent=policy.collection_agency_fee_percent,
        placed_on=today,
        admin_id=admin_id,
    )
    session.add(placement)
    session.flush()
    activity.record(
        session,
        "collections.sent_to_agency",
        user_id=admin_id,
        entity=loan,
        fee_percent=str(placement.fee_percent),
    )
    return placement
