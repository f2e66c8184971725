"""What a lender is shown before a large investment or a withdrawal is made."""

from decimal import Decimal

from app.confirmation import Confirmation
from app.formatting import money, pct
from app.models import Loan


def investment(loan: Loan, amount: Decimal, available: Decimal) -> Confirmation:
    title = f"#{loan.id}" + (f" {loan.title}" if loan.title else "")
    return Confirmation(
        question=f"Invest {money(amount)} in loan {title}?",
        facts=[
            (
                "Loan",
                f"grade {loan.risk_grade} · {pct(loan.interest_rate)} · {loan.term_months} months",
            ),
            ("Amount", money(amount)),
            ("Cash left to invest", money(available - amount)),
        ],
        consequence=(
            "The amount is held for this loan until it issues, when it becomes a note you hold "
            "until the loan is repaid; if the loan does not issue, it comes back to your cash."
        ),
        button=f"Invest {money(amount)}",
    )


def withdrawal(amount: Decimal, available: Decimal) -> Confirmation:
    return Confirmation(
        question=f"Withdraw {money(amount)} to your bank?",
        facts=[("Amount", money(amount)), ("Cash left to invest", money(available - amount))],
        consequence="The money leaves your CommunityLend account for your bank account.",
        button=f"Withdraw {money(amount)}",
    )
