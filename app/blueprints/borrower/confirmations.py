"""What a borrower is shown before a payment is collected or an offer is accepted or refused."""

from decimal import Decimal

from app.confirmation import Confirmation
from app.formatting import money, pct
from app.models import Loan

PAYS = {
    "scheduled": "what is due",
    "payoff": "the whole loan: it is paid off and closed today",
    "other": "an amount you chose",
}


def payment(loan: Loan, amount: Decimal, choice: str) -> Confirmation:
    return Confirmation(
        question=f"Pay {money(amount)} towards loan #{loan.id}?",
        facts=[
            ("Amount", money(amount)),
            ("Pays", PAYS.get(choice, PAYS["other"])),
            ("Principal owed now", money(loan.principal_outstanding)),
        ],
        consequence=(
            "We collect it through our payment provider. It pays overdue amounts first, then "
            "this month's interest and principal, then any late fees; more than that lowers "
            "your principal, so later payments end sooner."
        ),
        button=f"Pay {money(amount)}",
    )


def acceptance(loan: Loan, net: Decimal) -> Confirmation:
    return Confirmation(
        question=f"Accept the offer for {money(loan.amount)}?",
        facts=[
            ("Rate / APR", f"{pct(loan.interest_rate)} / {pct(loan.apr)}"),
            ("Monthly payment", f"{money(loan.monthly_payment)} for {loan.term_months} months"),
            ("Origination fee", money(loan.origination_fee)),
            ("You receive", money(net)),
        ],
        consequence=(
            "We verify your identity and income documents next; then the loan lists for "
            "lenders. You can still withdraw until it is listed."
        ),
        button="Accept this offer",
    )


def withdrawal(loan: Loan) -> Confirmation:
    return Confirmation(
        question=f"Withdraw your application for {money(loan.amount)}?",
        consequence="The application closes for good; to borrow later you apply again.",
        button="Withdraw the application",
        destructive=True,
    )
