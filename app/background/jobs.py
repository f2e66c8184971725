"""Background jobs: the outbox relay and the job functions RQ runs (ids in, commit, record)."""

import logging
import time
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from rq.job import JobStatus
from sqlalchemy import select, update

from app.background.emails import compose as compose_email
from app.background.emails import compose_registration
from app.extensions import db, get_gateway, get_policy, get_queue
from app.integrations import smtp
from app.models import (
    ImportBatch,
    LenderPreference,
    Loan,
    LoanStatus,
    OutboxMessage,
    OutboxStatus,
    PendingRegistration,
    User,
)
from app.services.accounts import registration, throttle
from app.services.lending import (
    autoinvest,
    import_scoring,
    issuance,
    strategy_sweep,
    underwriting,
)
from app.services.money import ledger, payments
from app.services.platform import (
    book_snapshot,
    emails,
    imports,
    model_drift,
    notifications,
    outbox,
    retention,
    risk_models,
    tracing,
)
from app.services.servicing import servicing
from app.services.statements import issue as statements
from app.services.statements import pdfs as statement_pdfs
from app.services.statements import periods
from app.services.trading import exits

log = logging.getLogger(__name__)

HANDLERS: dict[str, Callable[[dict], None]] = {}
SCORING_SLICE = 200


def handler(kind: str):
    """Register a job function for outbox messages of `kind`."""

    def decorator(function):
        HANDLERS[kind] = function
        return function

    return decorator


@handler("welcome_user")
def welcome_user(payload: dict) -> None:
    """Greet a new user in-app (once, however often the job runs)."""
    user = db.session.get(User, payload["user_id"])
    if user is None:
        return
    next_step = (
        "apply for your first loan"
        if user.role.value == "borrower"
        else "deposit cash and browse the marketplace"
    )
    notifications.notify(
        db.session,
        user.id,
        "welcome",
        "Welcome to CommunityLend",
        f"Hello {user.first_name}, complete your profile, then {next_step}.",
        link=("auth.profile_show", {}),
        dedupe_key=f"welcome-{user.id}",
    )


@handler("send_email")
def send_email(payload: dict) -> None:
    """Email one notification (retried with backoff by the outbox when SMTP fails)."""
    config = current_app.config
    try:
        emails.deliver(
            db.session,
            payload["notification_id"],
            mailer=smtp.mailer_for(config),
            compose=compose_email,
            send_updates=config["ENABLE_EMAIL_NOTIFICATIONS"],
        )
    except emails.NotSent:
        db.session.commit()  # keep the attempt count and error; the outbox retries with backoff
        raise


@handler("send_registration_link")
def send_registration_link(payload: dict) -> None:
    """Email a sign-up its confirmation link (once; retried with backoff when SMTP fails)."""
    pending = db.session.get(PendingRegistration, payload["pending_id"])
    if pending is None or pending.emailed_at is not None:
        return  # confirmed, replaced by a newer sign-up, or already sent
    try:
        emails.send_direct(
            db.session,
            to=pending.email,
            subject="CommunityLend: confirm your email to open your account",
            compose=lambda reveal: compose_registration(pending, reveal=reveal),
            mailer=smtp.mailer_for(current_app.config),
        )
    except emails.NotSent:
        db.session.commit()
        raise
    pending.emailed_at = datetime.now(UTC)


@handler("refund_charge")
def refund_charge(payload: dict) -> None:
    """Give back money that was taken and could not be applied (retried while the provider is
    down; the provider's idempotency key keeps a retry to one refund)."""
    payments.refund(db.session, get_gateway(), payload)


@handler("issue_loan")
def issue_loan(payload: dict) -> None:
    """Issue a listing that just became fully funded (a no-op once issued)."""
    issuance.issue_loan(db.session, payload["loan_id"], today=date.today(), policy=get_policy())


@handler("servicing_cycle")
def servicing_cycle(payload: dict) -> None:
    """The daily cycle for one business date (idempotent per date)."""
    day = date.fromisoformat(payload["business_date"])
    servicing.run_cycle(db.session, day, get_policy(), gateway=get_gateway())


@handler("score_application")
def score_application(payload: dict) -> None:
    """Score a submitted application and make the offer or the decline."""
    underwriting.score_application(
        db.session,
        payload["loan_id"],
        use_ml=current_app.config["ENABLE_ML_SCORING"],
        policy=get_policy(),
    )


@handler("score_imported_loans")
def score_imported_loans(payload: dict) -> None:
    """Score every imported application in one pass (the first job), then decide them a slice
    at a time; the next slice is its own job."""
    use_ml, policy = current_app.config["ENABLE_ML_SCORING"], get_policy()
    if use_ml and "after" not in payload:
        import_scoring.record_scores(db.session)
    waiting = db.session.scalars(
        select(Loan.id)
        .where(
            Loan.status == LoanStatus.SUBMITTED,
            Loan.external_id.is_not(None),
            Loan.id > payload.get("after", 0),
        )
        .order_by(Loan.id)
        .limit(SCORING_SLICE)
    ).all()
    for loan_id in waiting:
        underwriting.score_application(db.session, loan_id, use_ml=use_ml, policy=policy)
    if len(waiting) == SCORING_SLICE:
        outbox.add(
            db.session,
            "score_imported_loans",
            {"after": waiting[-1]},
            dedupe_key=f"score-import-after-{waiting[-1]}",
        )


@handler("run_import")
def run_import(payload: dict) -> None:
    """Load a confirmed CSV batch, all rows or none, reporting progress as it goes."""
    batch_id = payload["batch_id"]

    def progress(done: int, total: int) -> None:
        # Its own connection and transaction, so the admin page sees progress while the import
        # runs (`.engine` of the session's bind: under the tests that bind is a Connection).
        with db.session.get_bind().engine.connect() as connection:
            connection.execute(
                update(ImportBatch)
                .where(ImportBatch.id == batch_id)
                .values(status="running", rows_imported=done)
            )
            connection.commit()

    progress(0, 0)
    imports.execute(db.session, batch_id, loan_terms=get_policy().loan_terms, progress=progress)


@handler("auto_invest_loan")
def auto_invest_loan(payload: dict) -> None:
    """Offer a newly listed loan to the auto-invest rules (ENABLE_AUTO_MATCHING)."""
    if current_app.config["ENABLE_AUTO_MATCHING"]:
        autoinvest.run_for_loan(db.session, payload["loan_id"], policy=get_policy())
        strategy_sweep.sweep(
            db.session, policy=get_policy(), loan_ids=[payload["loan_id"]], secondary=False
        )


@handler("auto_invest_lender")
def auto_invest_lender(payload: dict) -> None:
    """Put a lender's new cash to work by their rules (ENABLE_AUTO_MATCHING)."""
    if current_app.config["ENABLE_AUTO_MATCHING"]:
        autoinvest.run_for_lender(db.session, payload["lender_id"], policy=get_policy())
        strategy_sweep.sweep(db.session, policy=get_policy(), lender_ids=[payload["lender_id"]])


@handler("auto_invest_lenders")
def auto_invest_lenders(payload: dict) -> None:
    """Notes paid these lenders: their reinvesting strategies run (ENABLE_AUTO_MATCHING)."""
    if current_app.config["ENABLE_AUTO_MATCHING"]:
        strategy_sweep.sweep(db.session, policy=get_policy(), lender_ids=payload["lender_ids"])


@handler("expire_listings")
def expire_listings(payload: dict) -> None:
    """Issue or refund listings past their deadline, and forget expired sign-ups (hourly)."""
    issuance.expire_listings(db.session, now=datetime.now(UTC), policy=get_policy())
    registration.forget_stale(db.session)
    throttle.forget_old(db.session, datetime.now(UTC))
    retention.sweep(
        db.session,
        datetime.now(UTC),
        import_hours=current_app.config["RETENTION_IMPORT_HOURS"],
        email_days=current_app.config["RETENTION_EMAIL_DAYS"],
    )


@handler("verify_ledger")
def verify_ledger(payload: dict) -> None:
    """Check every money invariant and record the outcome (daily; the dashboard shows it)."""
    problems = ledger.verify_and_record(db.session)
    if problems:
        log.error("ledger verification found %s problems: %s", len(problems), problems[:5])


@handler("measure_drift")
def measure_drift(payload: dict) -> None:
    """Population stability of the month's applications against the training data (daily)."""
    model_drift.measure(db.session, datetime.now(UTC))


@handler("snapshot_book")
def snapshot_book(payload: dict) -> None:
    """The admin dashboard's figures, every 10 minutes."""
    book_snapshot.take(db.session)
    book_snapshot.prune(db.session)


@handler("auto_invest_sweep")
def auto_invest_sweep(payload: dict) -> None:
    """Give every auto-invest rule a pass over open listings (hourly)."""
    if not current_app.config["ENABLE_AUTO_MATCHING"]:
        return
    for lender_id in db.session.scalars(
        select(LenderPreference.lender_id).where(LenderPreference.auto_invest_enabled.is_(True))
    ):
        autoinvest.run_for_lender(db.session, lender_id, policy=get_policy())
    strategy_sweep.sweep(db.session, policy=get_policy())
    exits.keep_listing(db.session, policy=get_policy())


@handler("train_model")
def train_model(payload: dict) -> None:
    """Train a new model version (registered inactive until an admin activates it)."""
    risk_models.train_and_register(
        db.session, with_platform_loans=bool(payload.get("with_platform_loans"))
    )


@handler("issue_monthly_statements")
def issue_monthly_statements(payload: dict) -> None:
    """Every lender's and borrower's statement for one month ("2026-11"), once each."""
    year, month = (int(part) for part in payload["month"].split("-"))
    statements.issue_month(db.session, periods.month(year, month))


@handler("issue_yearly_statements")
def issue_yearly_statements(payload: dict) -> None:
    """Every lender's tax package and borrower's interest statement for one year, once each."""
    statements.issue_year(db.session, periods.year(int(payload["year"])))


@handler("draw_statement_pdfs")
def draw_statement_pdfs(payload: dict) -> None:
    """Draw and keep the PDFs of a batch of stored statements (queued by the issuing job)."""
    statement_pdfs.draw_missing(db.session, [int(sid) for sid in payload["ids"]])


def relay(limit: int = 100) -> int:
    """Hand due outbox messages to RQ (or run them here without Redis); returns how many."""
    stale_after = timedelta(seconds=current_app.config["OUTBOX_STALE_AFTER_SECONDS"])
    queue = get_queue()
    silence = timedelta(seconds=current_app.config["OUTBOX_HEARTBEAT_SILENCE_SECONDS"])
    lost = (lambda job_id: job_lost(queue, job_id, silence)) if queue is not None else None
    outbox.requeue_stale(db.session, stale_after=stale_after, is_lost=lost)
    messages = outbox.claim_pending(db.session, limit)
    for message in messages:
        message.status = OutboxStatus.ENQUEUED
        message.enqueued_at = datetime.now(UTC)
    db.session.commit()
    for message in messages:
        if queue is None:
            run_outbox_message(message.id)
            continue
        try:
            job = queue.enqueue(
                run_outbox_message, message.id, job_id=f"outbox-{message.id}-{message.attempts}"
            )
            message.rq_job_id = job.id
        except Exception as error:  # noqa: BLE001 - Redis down: leave it for the next relay
            log.warning("outbox %s not enqueued: %s", message.id, error)
            message.status = OutboxStatus.PENDING
        db.session.commit()
    return len(messages)


def job_lost(queue, job_id: str | None, silence: timedelta = timedelta(seconds=90)) -> bool:
    """Whether RQ has lost the job: Redis forgot it (a restart), it ended without our commit
    (failed, stopped), or it "runs" on a worker that stopped beating (killed)."""
    if job_id is None:
        return True
    try:
        job = queue.fetch_job(job_id)
        if job is None:
            return True
        status = job.get_status(refresh=False)
    except Exception:  # noqa: BLE001 - Redis down: decide on the next pass
        return False
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return False
    if status is JobStatus.STARTED:
        beat = job.last_heartbeat
        return beat is None or datetime.now(UTC) - beat.replace(tzinfo=UTC) > silence
    return True


def run_outbox_message(message_id: int) -> str:
    """Run one outbox message's job and commit its effect with its status (idempotent)."""
    message = db.session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None or message.status in (OutboxStatus.DONE, OutboxStatus.FAILED):
        db.session.rollback()
        return "skipped"
    with tracing.bound(message.request_id or f"job-{message_id}"):
        return _run(message)


def _run(message: OutboxMessage) -> str:
    message_id, kind, started = message.id, message.kind, time.perf_counter()
    message.started_at = datetime.now(UTC)
    try:
        HANDLERS[message.kind](message.payload)
        outbox.mark_done(message)
        db.session.commit()
        log.info("outbox %s (%s) done in %.1f ms", message_id, kind,
                 (time.perf_counter() - started) * 1000)  # fmt: skip
        return "done"
    except Exception:  # noqa: BLE001 - recorded on the row and retried with backoff
        db.session.rollback()
        error = traceback.format_exc()
        log.error("outbox %s (%s) failed: %s", message_id, kind, error)
        message = db.session.get(OutboxMessage, message_id)
        outbox.mark_failed_attempt(message, error)
        db.session.commit()
        return "failed"
