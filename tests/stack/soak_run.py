"""One soak run: build the stack, people and their loans, run them through the faults, drain,
and check the books against what the clients heard (soak.py has the parts)."""

import collections
import shutil
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from aiosmtpd.controller import Controller
from sqlalchemy import text

from tests.helpers import PASSWORD
from tests.mailbox import Inbox, free_port
from tests.stack.conftest import new_stack
from tests.stack.soak import Faults, Supervisor
from tests.stack.soak_clients import Borrower, Lender

START_CASH = Decimal("2000.00")
AFTER_POSTGRES_SECONDS = 5  # requests may still fail this long after PostgreSQL is back
AROUND_WEB_KILL_SECONDS = 2  # requests in flight on the killed web node


@contextmanager
def stack_app(stack):
    """The app in this process, on the stack's primary (to build people and read the books)."""
    from app import create_app
    from app.extensions import db
    from config import TestConfig

    class StackConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = stack.primary_url().replace(
            "postgresql://", "postgresql+psycopg2://"
        )
        REDIS_URL = f"redis://127.0.0.1:{stack.ports.redis}/0"

    app = create_app(StackConfig)
    with app.app_context():
        yield db
        db.session.remove()


def populate(db, lenders: int, borrowers: int) -> tuple[list[dict], list[dict]]:
    from app.models import Provider, Role
    from app.services.accounts import api_tokens
    from app.services.money import cash
    from tests.builders import issued_loan, key, listed_loan
    from tests.factories import CompleteUserFactory

    listings = [listed_loan("40000.00").id for _ in range(max(4, lenders // 3))]
    people = []
    for _ in range(lenders):
        person = CompleteUserFactory(role=Role.LENDER)
        cash.deposit(db.session, person.id, START_CASH, provider=Provider.SIMULATED,
                     idempotency_key=key())  # fmt: skip
        people.append({"id": person.id, "email": person.email, "listings": listings})
    payers = []
    for _ in range(borrowers):
        loan, _ = issued_loan(["5000.00"], issued_on=date.today().replace(day=1))
        secret, _ = api_tokens.issue(db.session, loan.borrower, days=1)
        payers.append({"id": loan.borrower_id, "loan_id": loan.id, "token": secret})
    db.session.commit()
    for person in people:
        person["password"] = PASSWORD
    return people, payers


@dataclass
class Report:
    seconds: float
    outcomes: list
    faults: list
    clients: list
    books: dict = field(default_factory=dict)
    found: list = field(default_factory=list)
    supervisor_restarts: dict = field(default_factory=dict)
    folder: object = None  # the stack's folder: its logs, kept when the run found problems

    def problems(self) -> list[str]:
        return self.found

    def latencies(self) -> dict:
        answered = sorted(o.seconds for o in self.outcomes if o.result != "unknown")
        if len(answered) < 2:
            return {"p50": None, "p95": None, "p99": None}
        cuts = statistics.quantiles(answered, n=100)
        return {"p50": round(cuts[49] * 1000), "p95": round(cuts[94] * 1000),
                "p99": round(cuts[98] * 1000)}  # fmt: skip

    def table(self) -> str:
        by = collections.Counter((o.kind, o.result) for o in self.outcomes)
        kinds = sorted({kind for kind, _ in by})
        lines = [f"Soak: {self.seconds:.0f} s, {len(self.clients)} clients, "
                 f"{len(self.outcomes)} requests", "",
                 f"{'request':<10}{'done':>8}{'refused':>9}{'unknown':>9}{'retried':>9}"]  # fmt: skip
        for kind in kinds:
            retried = sum(1 for o in self.outcomes if o.kind == kind and len(o.statuses) > 1)
            lines.append(f"{kind:<10}{by[(kind, 'done')]:>8}{by[(kind, 'refused')]:>9}"
                         f"{by[(kind, 'unknown')]:>9}{retried:>9}")  # fmt: skip
        latency = self.latencies()
        lines += ["", f"latency ms (answered requests): p50 {latency['p50']}, "
                      f"p95 {latency['p95']}, p99 {latency['p99']}", "", "faults:"]  # fmt: skip
        lines += [f"  {f.name}: took {f.ended - f.started:.1f} s" for f in self.faults]
        lines += ["", "books:"] + [f"  {name}: {value}" for name, value in self.books.items()]
        lines += ["", "problems:"] + ([f"  {p}" for p in self.found] or ["  none"])
        return "\n".join(lines)

    def summary(self) -> dict:
        by = collections.Counter(o.result for o in self.outcomes)
        return {"requests": len(self.outcomes), **by, **self.latencies(),
                "faults": len(self.faults), "problems": len(self.found),
                "jobs_done": self.books.get("jobs done")}  # fmt: skip


def run_soak(lenders: int, borrowers: int, seconds: float, seed: int = 18) -> Report:
    inbox = Inbox()
    mail = Controller(inbox, hostname="127.0.0.1", port=free_port())
    mail.start()
    from config import TestConfig

    stack = new_stack(
        ENCRYPTION_KEYS=TestConfig.ENCRYPTION_KEYS, SMTP_HOST="127.0.0.1", SMTP_PORT=str(mail.port),
        LOGIN_RATE_LIMIT="100000 per minute", API_MONEY_RATE_LIMIT="100000 per minute",
        OUTBOX_STALE_AFTER_SECONDS="15", SEED_DEMO_DATA="false", LOG_FORMAT="json",
        RQ_JOB_MONITORING_INTERVAL="5", OUTBOX_HEARTBEAT_SILENCE_SECONDS="20",
    )  # fmt: skip
    supervisor, report = Supervisor(stack), None
    try:
        stack.start_services()
        stack.prepare_database(seed=False)
        stack.write_nginx_config()
        with stack_app(stack) as db:
            people, payers = populate(db, lenders, borrowers)
        supervisor.start()
        for port in (stack.ports.web1, stack.ports.web2, stack.ports.nginx):  # every node up
            _wait_ready(f"http://127.0.0.1:{port}")
        report = _drive(stack, supervisor, people, payers, seconds, seed)
        with stack_app(stack) as db:
            drained = time.monotonic()
            _drain(db, seconds=max(150.0, 2 * seconds))
            report.books["drain"] = f"{time.monotonic() - drained:.0f} s after the clients stopped"
            supervisor.stop()
            report.supervisor_restarts = dict(supervisor.restarts)
            _check(db, report, supervisor, inbox)
        report.folder = stack.folder
        return report
    finally:
        supervisor.stop()
        stack.stop_services()
        mail.stop()
        if report is not None and not report.found:  # keep the logs of a run that found any
            shutil.rmtree(stack.folder, ignore_errors=True)


def _drive(stack, supervisor, people, payers, seconds, seed) -> Report:
    base, stop = f"http://127.0.0.1:{stack.ports.nginx}", threading.Event()
    clients = [Lender(base, p, stop, seed + n) for n, p in enumerate(people)]
    clients += [Borrower(base, p, stop, seed + 1000 + n) for n, p in enumerate(payers)]
    faults = Faults(supervisor, stack)
    plan = [(0.15, faults.worker_mid_job), (0.35, faults.web_node),
            (0.55, faults.redis_restart), (0.75, faults.postgres_restart)]  # fmt: skip
    started = time.monotonic()
    for client in clients:
        client.start()
    for at, fault in plan:
        time.sleep(max(0.0, started + at * seconds - time.monotonic()))
        fault()
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    stop.set()
    for client in clients:
        client.join(timeout=90)
    outcomes = [o for c in clients for o in c.outcomes]
    return Report(time.monotonic() - started, outcomes, faults.done, clients)


def _wait_ready(base: str, seconds: float = 120) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("the stack did not become ready")


def _drain(db, seconds: float = 150) -> None:
    """Wait until every job has run (lost ones come back after OUTBOX_STALE_AFTER_SECONDS)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = db.session.scalar(text(
            "SELECT count(*) FROM outbox_messages WHERE status IN ('pending', 'enqueued')"))  # fmt: skip
        db.session.rollback()
        if waiting == 0:
            return
        time.sleep(1)


def _check(db, report: Report, supervisor: Supervisor, inbox: Inbox) -> None:
    from app.services.money import ledger

    found = report.found
    found += [f"ledger: {problem}" for problem in ledger.verify(db.session)]
    _check_once(db, report)
    _check_books(db, report)
    _check_jobs_and_mail(db, report, supervisor, inbox)
    _check_errors(report)
    if not any(o.result == "done" for o in report.outcomes if o.kind == "invest"):
        found.append("no investment went through: the soak did not exercise investing")


EFFECTS = {
    "deposit": "SELECT count(*) FROM cash_transfers WHERE user_id = :user "
    "AND idempotency_key = :key AND direction = 'deposit'",
    "withdraw": "SELECT count(*) FROM cash_transfers WHERE user_id = :user "
    "AND idempotency_key = :key AND direction = 'withdrawal'",
    "invest": "SELECT count(*) FROM investments i JOIN idempotency_keys k ON k.resource_id = i.id "
    "AND k.resource_type = 'investment' WHERE k.user_id = :user AND k.key = :key",
    "pay": "SELECT count(*) FROM payments WHERE payer_id = :user AND idempotency_key = :key",
}


def _check_once(db, report: Report) -> None:
    """Every request took effect exactly once, or not at all when it was refused."""
    for outcome in report.outcomes:
        if outcome.kind not in EFFECTS:
            continue
        count = db.session.scalar(text(EFFECTS[outcome.kind]),
                                  {"user": outcome.user_id, "key": outcome.key})  # fmt: skip
        allowed = {"done": {1}, "refused": {0}, "unknown": {0, 1}}[outcome.result]
        if count not in allowed:
            report.found.append(f"{outcome.kind} {outcome.key} was {outcome.result} but took "
                                f"effect {count} times")  # fmt: skip


def _check_books(db, report: Report) -> None:
    """Each client's own account of its money against the database's."""
    from app.services.money import cash

    totals = collections.Counter()
    for client in report.clients:
        mine = client.ledger
        totals.update({"deposited": mine.deposited, "withdrawn": mine.withdrawn,
                       "invested": mine.invested, "paid": mine.paid})  # fmt: skip
        unsure = any(o.result == "unknown" for o in client.outcomes)
        if isinstance(client, Lender):
            expected = START_CASH + mine.deposited - mine.withdrawn - mine.invested
            held = cash.available_cash(db.session, client.person["id"])
            if held != expected and not unsure:
                report.found.append(f"lender {client.person['id']} holds {held}, "
                                    f"expected {expected}")  # fmt: skip
            continue
        paid = db.session.scalar(text("SELECT coalesce(sum(amount), 0) FROM payments "
                                      "WHERE loan_id = :loan"), {"loan": client.person["loan_id"]})  # fmt: skip
        if paid != mine.paid and not unsure:
            report.found.append(f"loan {client.person['loan_id']} received {paid}, "
                                f"its borrower paid {mine.paid}")  # fmt: skip
        applied = sum(1 for o in client.outcomes if o.kind == "apply" and o.result == "done")
        maybe = sum(1 for o in client.outcomes if o.kind == "apply" and o.result == "unknown")
        made = db.session.scalar(text("SELECT count(*) - 1 FROM loans WHERE borrower_id = :user"),
                                 {"user": client.person["id"]})  # fmt: skip
        if not applied <= made <= applied + maybe:
            report.found.append(f"borrower {client.person['id']} applied {applied} times "
                                f"(+{maybe} unclear) but has {made} new applications")  # fmt: skip
    report.books.update({name: f"{value:,.2f}" for name, value in totals.items()})


def _check_jobs_and_mail(db, report: Report, supervisor: Supervisor, inbox: Inbox) -> None:
    """No job lost or run twice (the workers' own log lines), no email lost or sent twice."""
    statuses = dict(db.session.execute(text(
        "SELECT status, count(*) FROM outbox_messages GROUP BY status")).all())  # fmt: skip
    report.books["jobs done"] = statuses.get("done", 0)
    report.books["jobs by status"] = statuses
    for status in ("pending", "enqueued", "failed"):
        if statuses.get(status):
            report.found.append(f"{statuses[status]} jobs {status} after the drain")
    runs = collections.Counter()
    for line in supervisor.log_lines("worker"):
        if '"message": "outbox ' in line and " done in " in line:
            runs[line.split('"message": "outbox ')[1].split(" ")[0]] += 1
    twice = [message for message, count in runs.items() if count > 1]
    if twice:
        report.found.append(f"jobs run twice: {sorted(twice)[:10]}")
    if len(runs) != statuses.get("done", 0):
        report.found.append(f"{statuses.get('done', 0)} jobs done, {len(runs)} logged as run")
    sent = db.session.scalar(text("SELECT count(*) FROM email_messages WHERE status = 'sent'"))
    unsent = db.session.scalar(text("SELECT count(*) FROM email_messages WHERE status <> 'sent'"))
    ids = collections.Counter(message["Message-ID"] for _, message in inbox.messages)
    report.books["emails sent"] = f"{sent} recorded, {len(inbox.messages)} received"
    if unsent:
        report.found.append(f"{unsent} emails not sent")
    if len(ids) != sent:
        report.found.append(f"{sent} emails recorded as sent, {len(ids)} different ones received")
    if any(count > 1 for count in ids.values()):
        report.found.append(f"{sum(c - 1 for c in ids.values() if c > 1)} emails received twice")


def _check_errors(report: Report) -> None:
    """A 5xx or a dropped connection only while PostgreSQL restarts, or on the web node that
    was killed while the request was on it."""
    windows = []
    for fault in report.faults:
        if "PostgreSQL" in fault.name:
            windows.append((fault.started, fault.ended + AFTER_POSTGRES_SECONDS))
        elif "web1" in fault.name:
            windows.append((fault.started - 0.5, fault.started + AROUND_WEB_KILL_SECONDS))
    began = min((o.started for o in report.outcomes), default=0.0)
    marks = ", ".join(
        f"{f.name.split(' (')[0]} at +{f.started - began:.1f} s" for f in report.faults
    )
    for outcome in report.outcomes:
        for when, status in outcome.statuses:
            if (status == 0 or status >= 500) and not any(a <= when <= b for a, b in windows):
                report.found.append(f"{outcome.kind}: {status or 'no answer'} at "
                                    f"+{when - began:.1f} s ({marks})")  # fmt: skip
                break
