"""Operations: the activity log, jobs and emails, and the ledger check on demand."""

from datetime import date, datetime, time, timedelta

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.access import role_required
from app.extensions import db
from app.forms import page_number, whole_number
from app.htmx import hx_redirect, render
from app.models import ActivityLog, EmailMessage, OutboxMessage, OutboxStatus, Role
from app.services.money import ledger
from app.services.platform import activity, outbox

from .routes import bp

PAGE_SIZE = 50


@bp.get("/activity")
@role_required(Role.ADMIN)
def activity_index():
    """Every sign-in, money movement, state change and admin action, filterable."""
    args = request.args
    page = page_number(args)
    rows = db.session.scalars(
        _activity_query(args).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    filters = {name: value for name, value in args.items() if name != "page" and value}
    return render(
        "admin/activity.html",
        "activity_rows",
        rows=rows[:PAGE_SIZE],
        page=page,
        more=len(rows) > PAGE_SIZE,  # one row beyond the page says whether there is another
        args=args,
        filters=filters,
    )


def _activity_query(args):
    query = select(ActivityLog).order_by(ActivityLog.id.desc())
    user_id = whole_number(args.get("user"))
    if user_id is not None:
        query = query.where(ActivityLog.user_id == user_id)
    if args.get("action"):
        query = query.where(ActivityLog.action.startswith(args["action"]))
    if args.get("entity"):
        query = query.where(ActivityLog.entity_type == args["entity"])
    for name, op, days in (("since", "__ge__", 0), ("until", "__lt__", 1)):
        try:
            day = date.fromisoformat(args.get(name, "")) + timedelta(days=days)
        except (ValueError, OverflowError):  # not a date, or the day after 9999-12-31
            continue
        query = query.where(getattr(ActivityLog.created_at, op)(datetime.combine(day, time.min)))
    return query


@bp.get("/jobs")
@role_required(Role.ADMIN)
def job_index():
    """Outbox messages waiting, running and failed, and the latest emails."""
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status != OutboxStatus.DONE)
        .order_by(OutboxMessage.id.desc())
        .limit(100)
    ).all()
    done = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.DONE)
        .order_by(OutboxMessage.id.desc())
        .limit(20)
    ).all()
    emails = db.session.scalars(
        select(EmailMessage).order_by(EmailMessage.id.desc()).limit(30)
    ).all()
    return render("admin/jobs.html", messages=messages, done=done, emails=emails)


@bp.post("/jobs/<int:message_id>/retry")
@role_required(Role.ADMIN)
def job_retry(message_id: int):
    """Give a failed job another round of attempts."""
    if outbox.retry(db.session, message_id):
        activity.record(db.session, "job.retried", user_id=current_user.id, message_id=message_id)
        db.session.commit()
        flash("The job will run again.", "success")
    else:
        flash("Only failed jobs can be retried.", "error")
    return hx_redirect(url_for("admin.job_index"))


@bp.post("/ledger/verify")
@role_required(Role.ADMIN)
def ledger_verify():
    """Check every money invariant now and record the outcome."""
    problems = ledger.verify_and_record(db.session, user_id=current_user.id)
    db.session.commit()
    flash(
        "The ledger balances." if not problems else f"{len(problems)} ledger problems found.",
        "success" if not problems else "error",
    )
    return hx_redirect(url_for("admin.dashboard"))
