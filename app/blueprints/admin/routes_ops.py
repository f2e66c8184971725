"""Operations: servicing actions on one loan, the activity log, jobs and emails."""

import uuid
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.access import role_required
from app.extensions import db, get_policy
from app.htmx import hx_redirect, render
from app.models import (
    ActivityLog,
    EmailMessage,
    Installment,
    Loan,
    OutboxMessage,
    OutboxStatus,
    Payment,
    Provider,
    Role,
)
from app.services.errors import DomainError, ValidationFailed
from app.services.money import ledger
from app.services.platform import activity, outbox
from app.services.servicing import repayments, servicing

from .routes import bp

PAGE_SIZE = 50


@bp.get("/loans/<int:loan_id>")
@role_required(Role.ADMIN)
def loan_service(loan_id: int):
    """A loan's schedule with the servicing actions."""
    loan = db.session.get(Loan, loan_id) or abort(404)
    installments = db.session.scalars(
        select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.number)
    ).all()
    return render("admin/loan.html", loan=loan, installments=installments, key=str(uuid.uuid4()))


@bp.post("/loans/<int:loan_id>/<action>")
@role_required(Role.ADMIN)
def loan_action(loan_id: int, action: str):
    """payment | waive | charge_off — through the money engine, each with its reason."""
    reason = (request.form.get("reason") or "").strip()
    try:
        if not reason:
            raise ValidationFailed({"reason": "Every servicing action needs a reason."})
        if action == "payment":
            amount = Decimal(request.form.get("amount", ""))
            received = date.fromisoformat(
                request.form.get("received_on") or date.today().isoformat()
            )
            key = request.form.get("idempotency_key") or str(uuid.uuid4())
            repeated = db.session.scalar(
                select(Payment.id).where(Payment.loan_id == loan_id, Payment.idempotency_key == key)
            )
            payment = repayments.apply_payment(
                db.session,
                loan_id,
                amount,
                received_on=received,
                provider=Provider.MANUAL,
                idempotency_key=key,
                policy=get_policy(),
            )
            if repeated is None:  # a resubmitted form records nothing new
                activity.record(
                    db.session,
                    "loan.manual_payment",
                    user_id=current_user.id,
                    entity=payment,
                    loan_id=loan_id,
                    amount=str(amount),
                    reason=reason,
                )
        elif action == "waive":
            servicing.waive_late_fee(
                db.session,
                int(request.form["installment_id"]),
                current_user.id,
                reason,
                date.today(),
            )
        elif action == "charge_off":
            servicing.charge_off(
                db.session, loan_id, date.today(), reason=reason, admin_id=current_user.id
            )
        else:
            abort(404)
    except (DomainError, ValidationFailed) as error:
        db.session.rollback()
        flash(
            error.message
            if not isinstance(error, ValidationFailed)
            else "; ".join(error.errors.values()),
            "error",
        )
    except (InvalidOperation, ValueError, KeyError):
        db.session.rollback()
        flash("Check the amount, date and installment.", "error")
    else:
        db.session.commit()
        flash("Done.", "success")
    return hx_redirect(url_for("admin.loan_service", loan_id=loan_id))


@bp.get("/activity")
@role_required(Role.ADMIN)
def activity_index():
    """Every sign-in, money movement, state change and admin action, filterable."""
    args = request.args
    query = select(ActivityLog).order_by(ActivityLog.id.desc())
    if args.get("user", "").isdigit():
        query = query.where(ActivityLog.user_id == int(args["user"]))
    if args.get("action"):
        query = query.where(ActivityLog.action.startswith(args["action"]))
    if args.get("entity"):
        query = query.where(ActivityLog.entity_type == args["entity"])
    for name, op in (("since", "__ge__"), ("until", "__lt__")):
        try:
            day = date.fromisoformat(args.get(name, ""))
        except ValueError:
            continue
        edge = datetime.combine(
            day if name == "since" else date.fromordinal(day.toordinal() + 1), time.min
        )
        query = query.where(getattr(ActivityLog.created_at, op)(edge))
    page = max(int(args.get("page", "1")) if args.get("page", "1").isdigit() else 1, 1)
    rows = db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render("admin/activity.html", "activity_rows", rows=rows, page=page, args=args)


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
    problems = ledger.verify(db.session)
    activity.record(
        db.session,
        "ledger.verified",
        user_id=current_user.id,
        problems=len(problems),
        details=problems[:20],
    )
    db.session.commit()
    flash(
        "The ledger balances." if not problems else f"{len(problems)} ledger problems found.",
        "success" if not problems else "error",
    )
    return hx_redirect(url_for("admin.dashboard"))
