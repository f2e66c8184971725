"""A living demo book: real LendingClub applications run through the platform's own services.

People arrive through the CSV import, applications through the loans import and the risk
model; then three years are replayed day by day: loans list, lenders fund them (placement),
they issue, and their borrowers behave as the LendingClub file says they did: a loan that was
not fully paid goes silent into default and charge-off (some recover a part later), the others
pay on time through the daily settlement file, a share of them prepay, a few pay late and catch
up. The daily cycle assesses late fees and moves every state. The last two weeks' applications
stay open in the marketplace, part-funded.
"""

import csv
import io
import random
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import ActivityLog, Loan, LoanStatus, Provider, User
from app.risk.features import application_from_lendingclub
from app.risk.train import DEFAULT_CSV as DATA_FILE
from app.services.errors import DomainError
from app.services.lending import (
    import_scoring,
    issuance,
    origination,
    placement,
    underwriting,
)
from app.services.money import cash
from app.services.platform import activity, imports, notifications
from app.services.servicing import repayments, servicing, settlement, statements
from config import DEMO_EMAIL_DOMAIN

D = Decimal
UNIT = D("25")
SEED = 2026
BUILT = "demo.book_built"
CAUGHT_UP = "demo.book_caught_up"
PURPOSES = {  # LendingClub's purposes as the platform's
    "debt_consolidation": "debt_consolidation",
    "credit_card": "credit_card",
    "home_improvement": "home_improvement",
    "major_purchase": "major_purchase",
    "small_business": "business",
    "educational": "education",
    "all_other": "other",
}


@dataclass(frozen=True)
class BookSize:
    issued: int = 2000
    open_listings: int = 300
    lenders: int = 150
    days: int = 3 * 365  # of history replayed


@dataclass
class Plan:
    """One application's life: when it lists and issues, and how its borrower pays."""

    loan_id: int
    lists_on: date
    issues_on: date | None  # None: still open in the marketplace
    behaviour: str  # on_time / prepays / late_catches_up / silent
    stop_after: int = 0  # silent: installments paid before going quiet; prepays: before payoff
    share: D = D("1")  # of the amount lenders fund (open listings: part)
    recovery_on: date | None = None
    missed: set = field(default_factory=set)


def run(session: Session, today: date | None = None, size: BookSize | None = None) -> list[str]:
    """Build the book once (skipped when its people exist); returns what was made.

    Months of history are committed as they are replayed, so the pages fill while it runs;
    a build that was stopped half-way says so (the embedded database can be reset).
    """
    today, size = today or date.today(), size or BookSize()
    if session.scalar(select(User.id).where(User.email == _lender_email(1))):
        if not needs_building(session):
            return []
        return ["The demo book was stopped half-way last time: `make reset` rebuilds it."]
    with notifications.in_app_only():
        plans = _build(session, today, size)
    issued = sum(1 for plan in plans.values() if plan.issues_on)
    activity.record(
        session, BUILT, issued=issued, open=len(plans) - issued, through=today.isoformat()
    )
    session.commit()
    return [
        f"Demo book: {issued:,} issued loans over {size.days:,} days, "
        f"{len(plans) - issued:,} open listings, {size.lenders:,} lenders"
    ]


def top_up(session: Session, today: date | None = None, size: BookSize | None = None) -> list[str]:
    """On later runs, new applications list until the book has `size.open_listings` open again:
    listings close after two weeks, and a database reused a month later would show an empty
    marketplace. At most once a day."""
    today, size = today or date.today(), size or BookSize()
    batch = f"{today:%Y%m%d}-"
    if needs_building(session) or session.scalar(
        select(Loan.id).where(Loan.external_id.like(f"LC-{batch}%")).limit(1)
    ):
        return []
    missing = size.open_listings - _open_listings(session)
    if missing <= 0:
        return []
    rng = random.Random(today.toordinal())
    rows = _lendingclub_rows(rng, int(missing * 1.08) + 1)
    with notifications.in_app_only():
        _borrowers(session, rows, batch)
        applications = _applications(session, rows, batch)
        import_scoring.record_scores(session)
        offered = [loan_id for loan_id, _ in applications if _scored(session, loan_id)][:missing]
        lenders = _book_lenders(session)
        plans = [
            Plan(loan_id, today, None, "open", share=D(rng.randrange(5, 95)) / 100)
            for loan_id in offered
        ]
        _list_and_fund(session, rng, plans, lenders, today)
    session.commit()
    return [f"Demo book: {len(offered):,} new listings keep the marketplace full"]


def catch_up(
    session: Session, today: date | None = None, size: BookSize | None = None
) -> list[str]:
    """On later runs, the borrowers go on as they were: the days since the last run are
    replayed (payments, then the daily cycle), so the book does not turn late while unused."""
    today, size = today or date.today(), size or BookSize()
    marks = session.scalars(
        select(ActivityLog)
        .where(ActivityLog.action.in_([BUILT, CAUGHT_UP]))
        .order_by(ActivityLog.id.desc())
    ).all()
    if not marks or "through" not in marks[0].details:
        return []
    built = next(mark for mark in marks if mark.action == BUILT)
    through = date.fromisoformat(marks[0].details["through"])
    if through >= today:
        return []
    plans = _recorded_plans(session, date.fromisoformat(built.details["through"]), size)
    recoveries = {}
    for plan in plans.values():
        if plan.recovery_on:
            recoveries.setdefault(plan.recovery_on, []).append(plan.loan_id)
    with notifications.in_app_only():
        for day in servicing.business_dates(through + timedelta(days=1), today):
            _pay(session, plans, recoveries, day)
            servicing.cycle_work(session, day)  # the demo stories ran these dates too
    activity.record(session, CAUGHT_UP, through=today.isoformat())
    session.commit()
    return [f"Demo book: {(today - through).days:,} days since the last run replayed"]


def _recorded_plans(session: Session, built_on: date, size: BookSize) -> dict:
    """The build's plans again: the same sample and draws, for the applications it offered."""
    rng = random.Random(SEED)
    rows = _lendingclub_rows(rng, int((size.issued + size.open_listings) * 1.08))
    ids = [f"LC-{index:05d}" for index in range(len(rows))]
    status = dict(
        session.execute(
            select(Loan.external_id, Loan.id).where(
                Loan.external_id.in_(ids), Loan.status != LoanStatus.DECLINED
            )
        ).all()
    )
    offered = [(status[key], row) for key, row in zip(ids, rows, strict=True) if key in status]
    return _plans(rng, offered, built_on, size)


def _open_listings(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Loan)
        .where(
            Loan.status == LoanStatus.LISTED,
            Loan.funding_deadline > datetime.now(UTC),
            Loan.external_id.like("LC-%"),
        )
    )


def needs_building(session: Session) -> bool:
    """Not built yet (or stopped half-way)."""
    done = select(ActivityLog.id).where(ActivityLog.action == BUILT).limit(1)
    return session.scalar(done) is None


def _build(session: Session, today: date, size: BookSize) -> dict:
    rng = random.Random(SEED)
    rows = _lendingclub_rows(rng, int((size.issued + size.open_listings) * 1.08))
    lenders = _lenders(session, size)
    _borrowers(session, rows, "")
    applications = _applications(session, rows, "")
    import_scoring.record_scores(session)  # as the import's job does: one pass, then decisions
    offered = [(loan_id, row) for loan_id, row in applications if _scored(session, loan_id)]
    plans = _plans(rng, offered, today, size)
    _replay(session, rng, plans, lenders, today)
    return plans


def _lendingclub_rows(rng: random.Random, count: int) -> list[dict]:
    with DATA_FILE.open(newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row["credit.policy"] == "1"]
    return rng.sample(rows, min(count, len(rows)))


def _lender_email(number: int) -> str:
    return f"lender{number:03d}@book.{DEMO_EMAIL_DOMAIN}"


def _lenders(session: Session, size: BookSize) -> list[int]:
    """The book's lenders through the users import; they and the demo lender deposit cash."""
    people = [
        _person(_lender_email(n), f"Lender {n}", "lender") for n in range(1, size.lenders + 1)
    ]
    _import(session, "users", people)
    lenders = _book_lenders(session)
    for lender_id in lenders:
        for deposit in range(2):
            cash.deposit(
                session,
                lender_id,
                D("500000.00"),
                provider=Provider.SIMULATED,
                idempotency_key=f"book-deposit-{lender_id}-{deposit}",
            )
    return lenders


def _book_lenders(session: Session) -> list[int]:
    """The demo lender first, then the book's lenders."""
    main = session.scalar(select(User.id).where(User.email == f"lender@{DEMO_EMAIL_DOMAIN}"))
    pattern = f"lender%@book.{DEMO_EMAIL_DOMAIN}"
    return [
        main,
        *session.scalars(select(User.id).where(User.email.like(pattern)).order_by(User.id)),
    ]


def _borrowers(session: Session, rows: list[dict], batch: str) -> None:
    """One borrower per application, through the users import."""
    people = [
        _person(
            _borrower_email(batch, index),
            f"Borrower {batch}{index}",
            "borrower",
            f"{application_from_lendingclub(row)['annual_income']:.2f}",
        )
        for index, row in enumerate(rows)
    ]
    _import(session, "users", people)


def _person(email: str, last_name: str, role: str, income: str = "") -> dict:
    """A row of the users import (a lender declares a net worth: their suitability limit)."""
    return {
        "email": email,
        "first_name": "Book",
        "last_name": last_name,
        "role": role,
        "annual_income": income,
        "net_worth": "2500000" if role == "lender" else "",
    }


def _borrower_email(batch: str, index: int) -> str:
    return f"borrower{batch}{index:04d}@book.{DEMO_EMAIL_DOMAIN}"


def _applications(session: Session, rows: list[dict], batch: str) -> list[tuple[int, dict]]:
    """Every sampled LendingClub application through the loans import (submitted)."""
    applications = []
    for index, row in enumerate(rows):
        a = application_from_lendingclub(row)
        applications.append(
            {
                "external_id": f"LC-{batch}{index:05d}",
                "borrower_email": _borrower_email(batch, index),
                "amount": max(a["amount"], 1000),
                "term_months": 60 if index % 4 == 0 else 36,
                "purpose": PURPOSES.get(a["purpose"], "other"),
                "annual_income": f"{a['annual_income']:.2f}",
                "monthly_debt": f"{a['monthly_debt']:.2f}",
                "credit_score": int(a["credit_score"]),
                "credit_history_months": int(a["credit_history_months"]),
                "revolving_balance": int(a["revolving_balance"]),
                "revolving_utilization": f"{min(a['revolving_utilization'], 150):.1f}",
                "inquiries_6m": int(a["inquiries_6m"]),
                "delinquencies_2y": int(a["delinquencies_2y"]),
                "public_records": int(a["public_records"]),
            }
        )
    _import(session, "loans", applications)
    ids = [f"LC-{batch}{index:05d}" for index in range(len(rows))]
    found = dict(
        session.execute(select(Loan.external_id, Loan.id).where(Loan.external_id.in_(ids))).all()
    )
    return [(found[key], row) for key, row in zip(ids, rows, strict=True) if key in found]


def _import(session: Session, kind: str, rows: list[dict]) -> None:
    """`rows` through the CSV import of `kind`, as an admin's file would go (their keys are
    the columns)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"book-{kind}.csv"
        path.write_text(buffer.getvalue())
        _, report = imports.import_file(session, kind, path, loan_terms=(36, 60))
    if report is None or report.error_count:
        raise RuntimeError(f"the demo book's {kind} did not import: {report and report.errors[:3]}")


def _scored(session: Session, loan_id: int) -> bool:
    """The risk model's decision: an offer (True) or a reasoned decline."""
    underwriting.score_application(session, loan_id)
    return session.get(Loan, loan_id).status is LoanStatus.OFFERED


def _plans(rng, offered: list[tuple[int, dict]], today: date, size: BookSize) -> dict:
    """Who lists when; the first `size.issued` issue and live out their LendingClub outcome."""
    start = today - timedelta(days=size.days)
    plans = {}
    for loan_id, row in offered[: size.issued]:
        lists_on = start + timedelta(days=rng.randrange(size.days - 20))
        defaulted = row["not.fully.paid"] == "1"
        plans[loan_id] = _issued_plan(rng, loan_id, lists_on, defaulted, today)
    for loan_id, _ in offered[size.issued : size.issued + size.open_listings]:
        lists_on = today - timedelta(days=rng.randrange(13))
        plans[loan_id] = Plan(loan_id, lists_on, None, "open", share=D(rng.randrange(5, 95)) / 100)
    return plans


def _issued_plan(rng, loan_id: int, lists_on: date, defaulted: bool, today: date) -> Plan:
    """How this borrower behaves; a loan too young to live out its story lives it sooner."""
    issues_on = lists_on + timedelta(days=rng.randrange(1, 8))
    months = max((today - issues_on).days // 30, 2)
    if defaulted:
        plan = Plan(
            loan_id, lists_on, issues_on, "silent", stop_after=rng.randrange(min(18, months))
        )
        if rng.random() < 0.3:
            plan.recovery_on = issues_on + timedelta(days=30 * (plan.stop_after + 7))
        return plan
    roll = rng.random()
    if roll < 0.2:
        payoff = rng.randrange(1, min(30, months))
        return Plan(loan_id, lists_on, issues_on, "prepays", stop_after=payoff)
    if roll < 0.3:
        missed = {rng.randrange(1, min(20, months))}
        return Plan(loan_id, lists_on, issues_on, "late_catches_up", missed=missed)
    return Plan(loan_id, lists_on, issues_on, "on_time")


def _replay(session: Session, rng, plans: dict, lenders: list[int], today: date) -> None:
    """Day by day: what lists, what issues, what is paid, then the daily cycle; a commit a month."""
    by_listing, by_issue, recoveries = {}, {}, {}
    for plan in plans.values():
        by_listing.setdefault(plan.lists_on, []).append(plan)
        if plan.issues_on:
            by_issue.setdefault(plan.issues_on, []).append(plan)
        if plan.recovery_on:
            recoveries.setdefault(plan.recovery_on, []).append(plan.loan_id)
    first = min(by_listing)
    for day in servicing.business_dates(first, today):
        _list_and_fund(session, rng, by_listing.get(day, []), lenders, day)
        for plan in by_issue.get(day, []):
            issuance.issue_loan(session, plan.loan_id, today=day, allow_partial=True)
        _pay(session, plans, recoveries, day)
        servicing.cycle_work(session, day)  # the demo stories ran these dates too
        if day.day == 1:
            session.commit()
            # The book grows faster than autovacuum re-samples it: without fresh statistics
            # the settlement joins every note's account to find the day's few.
            session.execute(text("ANALYZE ledger_accounts, investments, loans"))
    session.commit()


def _list_and_fund(session: Session, rng, plans: list[Plan], lenders: list[int], day: date) -> None:
    """The day's listings go up and their lenders' orders are placed together."""
    now = datetime.combine(day, time(9), tzinfo=UTC)
    orders = []
    for plan in plans:
        loan = session.get(Loan, plan.loan_id)
        origination.accept_offer(session, loan)
        origination.list_loan(session, loan, now=now)
        orders += _orders(rng, loan, plan.share, lenders)
    if orders:
        placement.invest_many(session, orders, now=now)


def _orders(rng, loan: Loan, share: D, lenders: list[int]) -> list[placement.Order]:
    """A few lenders, the demo lender among them three times in ten, take `share` of `loan`."""
    units = int(loan.amount * share / UNIT)
    holders = rng.sample(lenders[1:], rng.randrange(3, 9))
    if rng.random() < 0.3:
        holders.append(lenders[0])  # the demo lender: notes across every grade
    orders, left = [], units
    for index, lender_id in enumerate(holders):
        take = left if index == len(holders) - 1 else rng.randrange(1, max(2, left // 2))
        take = min(take, left, 200)  # $5,000: one lender's cap in one loan
        if take > 0:
            orders.append(
                placement.Order(lender_id, loan.id, take * UNIT, f"book-{loan.id}-{lender_id}")
            )
            left -= take
    return orders


def _pay(session: Session, plans: dict, recoveries: dict, day: date) -> None:
    """Today's installments: on time through the settlement file (what is left of each: a
    catch-up may have paid some early), the rest one by one."""
    due = session.execute(
        text(
            "SELECT loan_id, number,"
            " principal_due + interest_due - principal_paid - interest_paid FROM installments"
            " WHERE due_date = :day AND status IN ('scheduled', 'due')"
        ),
        {"day": day},
    ).all()
    rows, after = [], [("recovery", loan_id) for loan_id in recoveries.get(day, ())]
    for loan_id, number, amount in due:
        plan = plans.get(loan_id)
        if plan is None or number in plan.missed:
            continue
        if plan.behaviour == "silent" and number > plan.stop_after:
            continue
        if number - 1 in plan.missed:
            after.append(("catch_up", loan_id))
            continue
        rows.append(settlement.SettlementRow(loan_id, amount, f"book-{loan_id}-{number}"))
        if plan.behaviour == "prepays" and number == plan.stop_after:
            after.append(("payoff", loan_id))
    if rows:
        settlement.settle(session, rows, day)
    for kind, loan_id in after:
        _pay_one(session, kind, loan_id, day)


def _pay_one(session: Session, kind: str, loan_id: int, day: date) -> None:
    """A payoff (the quote), a catch-up (everything due so far) or a recovery (a quarter of
    the principal written off)."""
    loan = session.get(Loan, loan_id)
    if kind == "payoff":
        amount = repayments.payoff_amount(session, loan, day).total
    elif kind == "catch_up":
        amount = statements.statement(session, loan, day).due_now
    else:
        amount = (loan.principal_outstanding * D("0.25")).quantize(D("0.01"))
    if amount <= 0:
        return
    try:
        repayments.apply_payment(
            session,
            loan_id,
            amount,
            received_on=day,
            idempotency_key=f"book-{loan_id}-{kind}",
            payer_id=loan.borrower_id,
        )
    except DomainError:
        pass  # the loan moved on (paid off, charged off): nothing to pay
