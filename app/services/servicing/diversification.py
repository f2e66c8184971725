"""How concentrated a lender's notes are: by grade, term, purpose and borrower, and the loans
that are too large a share (`LendingPolicy.concentration_warning_percent`).

A note counts at its principal outstanding once issued, at its amount while in funding.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.models import Investment, InvestmentStatus, Loan
from app.services.money.money import ZERO
from app.services.policy import DEFAULT_POLICY, LendingPolicy


@dataclass(frozen=True)
class Share:
    label: str
    amount: Decimal
    percent: Decimal


@dataclass(frozen=True)
class Concentration:
    total: Decimal
    by_grade: list[Share]
    by_term: list[Share]
    by_purpose: list[Share]
    top_borrowers: list[Share]
    top_loans: list[Share]
    warnings: list[str]


def concentration(
    session: Session, lender_id: int, policy: LendingPolicy = DEFAULT_POLICY
) -> Concentration:
    exposure = case(
        (Investment.status == InvestmentStatus.COMMITTED, Investment.amount),
        else_=Investment.principal_outstanding,
    )
    rows = session.execute(
        select(
            Loan.id,
            Loan.borrower_id,
            func.left(func.coalesce(Loan.risk_grade, "?"), 1),
            Loan.term_months,
            Loan.purpose,
            func.sum(exposure),
        )
        .join(Loan, Loan.id == Investment.loan_id)
        .where(
            Investment.lender_id == lender_id,
            Investment.status.in_([InvestmentStatus.COMMITTED, InvestmentStatus.ACTIVE]),
        )
        .group_by(Loan.id)
    ).all()
    total = sum((row[5] for row in rows), ZERO)
    grouped = {name: {} for name in ("grade", "term", "purpose", "borrower", "loan")}
    for loan_id, borrower_id, grade, term, purpose, amount in rows:
        for name, key in (
            ("grade", grade),
            ("term", f"{term} months"),
            ("purpose", purpose.value.replace("_", " ")),
            ("borrower", f"Borrower {borrower_id}"),
            ("loan", f"Loan #{loan_id}"),
        ):
            grouped[name][key] = grouped[name].get(key, ZERO) + amount
    shares = {name: _shares(values, total) for name, values in grouped.items()}
    limit = policy.concentration_warning_percent
    warnings = [
        f"{share.label} is {share.percent}% of your notes (more than {limit}%)."
        for name in ("loan", "borrower")
        for share in shares[name]
        if share.percent > limit
    ]
    return Concentration(
        total=total,
        by_grade=sorted(shares["grade"], key=lambda share: share.label),
        by_term=sorted(shares["term"], key=lambda share: share.label),
        by_purpose=shares["purpose"],
        top_borrowers=shares["borrower"][:10],
        top_loans=shares["loan"][:10],
        warnings=warnings,
    )


def _shares(values: dict[str, Decimal], total: Decimal) -> list[Share]:
    ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))
    return [
        Share(label, amount, (amount * 100 / total).quantize(Decimal("0.1")) if total else ZERO)
        for label, amount in ordered
    ]
