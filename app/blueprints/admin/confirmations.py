"""What an admin is shown before a decision lands on a person or a loan."""

from app.confirmation import Confirmation
from app.formatting import money, pct
from app.models import Loan, User
from app.services.policy import LendingPolicy


def approval(
    loan: Loan,
    borrower: User,
    approvals: int,
    needed: int,
    unverified: list[str],
    policy: LendingPolicy,
) -> Confirmation:
    if approvals + 1 < needed:
        consequence = (
            "This is the first of two approvals: the loan lists when a second admin approves."
        )
    else:
        consequence = (
            f"The loan lists in the marketplace for {policy.listing_days} days and lenders can "
            "invest in it at once."
        )
    return Confirmation(
        question=f"Approve and list loan #{loan.id} for {money(loan.amount)}?",
        facts=[
            ("Borrower", borrower.full_name),
            ("Grade / rate", f"{loan.risk_grade} / {pct(loan.interest_rate)}"),
            ("Term", f"{loan.term_months} months"),
            (
                "Verification",
                f"not verified: {' and '.join(unverified)}" if unverified else "complete",
            ),
        ],
        consequence=consequence,
        button="Approve and list",
        destructive=bool(unverified),
    )


def decline(loan: Loan, reasons: list[str]) -> Confirmation:
    return Confirmation(
        question=f"Decline application #{loan.id} for {money(loan.amount)}?",
        facts=[("Reasons the borrower is told", "; ".join(reasons))],
        consequence="The borrower gets a notice with these reasons; a declined application cannot be reopened.",
        button="Decline the application",
        destructive=True,
    )


def suspension(user: User, reason: str) -> Confirmation:
    return Confirmation(
        question=f"Suspend {user.full_name}?",
        facts=[("Email", user.email), ("Reason", reason)],
        consequence=(
            "They are signed out everywhere now and cannot sign in until an admin reactivates "
            "them. Their loans, notes and cash stay as they are."
        ),
        button="Suspend",
        destructive=True,
    )


def charge_off(loan: Loan, noteholders: int) -> Confirmation:
    return Confirmation(
        question=f"Charge off loan #{loan.id}?",
        facts=[
            ("Principal written off", money(loan.principal_outstanding)),
            ("Days past due", str(loan.days_past_due)),
            ("Noteholders", str(noteholders)),
        ],
        consequence=(
            "The remaining principal becomes the noteholders' loss and the loan stops "
            "accruing. The borrower still owes it: whatever is recovered later goes back to "
            "the noteholders. This cannot be undone."
        ),
        button="Charge off",
        destructive=True,
    )
