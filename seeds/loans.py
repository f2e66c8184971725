"""Demo loans in every state, built by replaying history day by day through the services."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Installment, InstallmentStatus, Loan, LoanPurpose, Provider, Role, User
from app.services.accounts import accounts
from app.services.lending import investing, issuance, origination
from app.services.lending.origination import Offer
from app.services.money import cash
from app.services.servicing import repayments, servicing
from app.services.servicing.amortization import add_months
from config import DEMO_EMAIL_DOMAIN

D = Decimal
COMMUNITY_PASSWORD = "maple harbor quartz 58"
CREDIT = {
    "annual_income": D("64000.00"),
    "monthly_debt": D("850.00"),
    "credit_score": 705,
    "credit_history_months": 132,
    "revolving_balance": D("7400.00"),
    "revolving_utilization": D("38.000"),
    "inquiries_6m": 1,
    "delinquencies_2y": 0,
    "public_records": 0,
}
GRADES = {"A2": ("7.49", "1"), "B3": ("10.99", "3"), "C1": ("13.49", "4"), "D2": ("18.25", "5")}


@dataclass(frozen=True)
class Story:
    title: str
    amount: str
    term: int
    grade: str
    purpose: LoanPurpose
    issued_months_ago: int | None  # None: never issued (an application or a listing)
    extra_days: int = 0  # issued this many days before the months
    paid_installments: int | None = None  # None: pays every installment on time
    payoff_after: int | None = None  # pays off early after this many installments
    stage: str = "issued"  # issued / listed / expired / pending_approval / offered
    recovery: str | None = None
    mine: bool = False  # belongs to the main demo borrower


STORIES = (
    Story(
        "Consolidate two credit cards",
        "9000",
        36,
        "B3",
        LoanPurpose.DEBT_CONSOLIDATION,
        3,
        mine=True,
    ),
    Story(
        "Kitchen renovation",
        "12000",
        60,
        "A2",
        LoanPurpose.HOME_IMPROVEMENT,
        None,
        stage="listed",
        mine=True,
    ),
    Story(
        "New delivery van", "15000", 60, "C1", LoanPurpose.BUSINESS, None, stage="pending_approval"
    ),
    Story("Wedding costs", "6000", 36, "B3", LoanPurpose.OTHER, None, stage="offered"),
    Story("Bakery equipment", "8000", 36, "C1", LoanPurpose.BUSINESS, None, stage="expired"),
    Story(
        "Dental work", "4000", 36, "B3", LoanPurpose.MEDICAL, 1, extra_days=5, paid_installments=0
    ),
    Story("Car repairs", "5000", 36, "C1", LoanPurpose.AUTO, 1, extra_days=20, paid_installments=0),
    Story("Moving costs", "3500", 36, "C1", LoanPurpose.MAJOR_PURCHASE, 4, paid_installments=1),
    Story(
        "Roof repair",
        "7000",
        36,
        "D2",
        LoanPurpose.HOME_IMPROVEMENT,
        6,
        extra_days=10,
        paid_installments=1,
    ),
    Story(
        "Shop inventory",
        "6500",
        36,
        "D2",
        LoanPurpose.BUSINESS,
        7,
        paid_installments=1,
        recovery="400.00",
    ),
    Story("Night classes", "3000", 12, "A2", LoanPurpose.EDUCATION, 8, payoff_after=5, mine=True),
)


def run(session: Session, today: date | None = None) -> list[str]:
    """Create the demo loans once (skipped when they exist), replaying history to today."""
    today = today or date.today()
    borrower = session.scalar(select(User).where(User.email == f"borrower@{DEMO_EMAIL_DOMAIN}"))
    if session.scalar(select(Loan.id).where(Loan.borrower_id == borrower.id).limit(1)):
        return []
    lenders = _lenders(session)
    plans = [(story, _borrower_for(session, story, borrower)) for story in STORIES]
    start = today - timedelta(days=260)
    loans = {}
    for day in servicing.business_dates(start, today):
        for story, owner in plans:
            _on_day(session, story, owner, lenders, day, today, loans)
        servicing.run_cycle(session, day)
    session.commit()
    return [
        f"Demo loans: {len(loans)} in every state (listing, funding, current, grace, "
        "late, default, charged off, paid off)"
    ]


def _on_day(session, story: Story, owner: User, lenders, day: date, today: date, loans) -> None:
    issue_on = _issue_date(story, today)
    listed_on = (issue_on or today) - timedelta(days=3 if story.stage != "expired" else 20)
    if story.stage in ("offered", "pending_approval"):
        listed_on = today
    if day == listed_on:
        loans[story] = _apply(session, story, owner, day, lenders)
    loan = loans.get(story)
    if loan is None or issue_on is None:
        return
    if day == issue_on:
        issuance.issue_loan(session, loan.id, today=day)
    elif day > issue_on:
        _pay_if_due(session, story, loan, day, today)


def _apply(session, story: Story, owner: User, day: date, lenders) -> Loan:
    rate, fee = GRADES[story.grade]
    loan = origination.create_application(
        session,
        owner.id,
        amount=D(story.amount),
        term_months=story.term,
        purpose=story.purpose,
        title=story.title,
        credit_facts=dict(CREDIT),
    )
    origination.make_offer(session, loan, Offer(story.grade, D(rate), D(fee), _reasons(story)))
    if story.stage == "offered":
        return loan
    origination.accept_offer(session, loan)
    if story.stage == "pending_approval":
        return loan
    listed_at = datetime.combine(day, time(9), tzinfo=UTC)
    origination.list_loan(session, loan, now=listed_at)
    share = {"listed": D("0.45"), "expired": D("0.30")}.get(story.stage, D("1"))
    _fund(session, loan, lenders, share, listed_at)
    return loan


def _fund(session, loan: Loan, lenders, share: Decimal, now: datetime) -> None:
    target = (loan.amount * share / 25).quantize(D("1")) * 25
    per_lender = (target / len(lenders) / 25).quantize(D("1")) * 25
    for index, lender in enumerate(lenders):
        amount = per_lender if index < len(lenders) - 1 else target - per_lender * index
        if amount > 0:
            investing.invest(
                session,
                lender_id=lender.id,
                loan_id=loan.id,
                amount=amount,
                idempotency_key=f"seed-{loan.id}-{lender.id}",
                now=now,
            )


def _pay_if_due(session, story: Story, loan: Loan, day: date, today: date) -> None:
    if story.recovery and loan.servicing_status and loan.servicing_status.value == "charged_off":
        if day == today - timedelta(days=1):
            repayments.apply_payment(
                session,
                loan.id,
                D(story.recovery),
                received_on=day,
                idempotency_key=f"seed-recovery-{loan.id}",
                provider=Provider.MANUAL,
            )
        return
    due = session.scalar(
        select(Installment).where(
            Installment.loan_id == loan.id,
            Installment.due_date == day,
            Installment.status.in_([InstallmentStatus.SCHEDULED, InstallmentStatus.DUE]),
        )
    )
    if due is None:
        return
    paid = story.paid_installments
    if paid is not None and due.number > paid:
        return
    if story.payoff_after is not None and due.number > story.payoff_after:
        return
    repayments.apply_payment(
        session,
        loan.id,
        due.principal_due + due.interest_due,
        received_on=day,
        idempotency_key=f"seed-{loan.id}-{due.number}",
        payer_id=loan.borrower_id,
    )
    if story.payoff_after == due.number:
        quote = repayments.payoff_amount(session, loan, day)
        repayments.apply_payment(
            session,
            loan.id,
            quote.total,
            received_on=day,
            idempotency_key=f"seed-payoff-{loan.id}",
            payer_id=loan.borrower_id,
        )


def _issue_date(story: Story, today: date) -> date | None:
    if story.issued_months_ago is None:
        return None
    return add_months(today, -story.issued_months_ago) - timedelta(days=story.extra_days)


def _lenders(session: Session) -> list[User]:
    main = session.scalar(select(User).where(User.email == f"lender@{DEMO_EMAIL_DOMAIN}"))
    others = [
        _person(session, f"lender{n}@{DEMO_EMAIL_DOMAIN}", Role.LENDER, name)
        for n, name in ((2, "Lina"), (3, "Lars"), (4, "Lupe"))
    ]
    for lender in [main, *others]:
        cash.deposit(
            session,
            lender.id,
            D("25000.00"),
            provider=Provider.SIMULATED,
            idempotency_key=f"seed-deposit-{lender.id}",
        )
    return [main, *others]


def _borrower_for(session: Session, story: Story, main: User) -> User:
    if story.mine:
        return main
    slug = story.title.split()[0].lower()
    return _person(session, f"{slug}@{DEMO_EMAIL_DOMAIN}", Role.BORROWER, story.title.split()[0])


def _person(session: Session, email: str, role: Role, first_name: str) -> User:
    found = session.scalar(select(User).where(User.email == email))
    if found:
        return found
    person = accounts.register(
        session,
        email=email,
        password=COMMUNITY_PASSWORD,
        role=role,
        first_name=first_name,
        last_name="Demo",
    )
    if role is Role.LENDER:  # their suitability limit: notes up to 10 % of it
        person.net_worth = Decimal("1500000.00")
    return person


def _reasons(story: Story) -> list[str]:
    return [
        f"Grade {story.grade}: priced from the demo rate table (the risk model sets this "
        "for real applications)"
    ]
