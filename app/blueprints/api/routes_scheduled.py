"""Payments on a date over the API: schedule, list, cancel; autopay on or off."""

from datetime import UTC, date, datetime

from marshmallow import Schema, fields, validate

from app.extensions import db, get_policy
from app.models import Loan, Role, ScheduledPayment
from app.services.servicing import scheduled_payments

from .fields import CamelSchema, Money
from .routes import api_user, bearer_required, bp, owned_or_404
from .schemas import IdempotencyHeaderSchema, ScheduledPaymentSchema


class ScheduleRequestSchema(CamelSchema):
    loan_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    amount = Money(required=True)
    pay_on = fields.Date(required=True, metadata={"description": "after today, within a year"})


class ScheduledListSchema(Schema):
    scheduled = fields.List(fields.Nested(ScheduledPaymentSchema))


class AutopaySchema(CamelSchema):
    enabled = fields.Boolean(required=True)


class AutopayAnswerSchema(CamelSchema):
    loan_id = fields.Integer()
    enabled = fields.Boolean()
    since = fields.DateTime(allow_none=True)


@bp.route("/payments/scheduled", methods=["POST"])
@bearer_required(Role.BORROWER)
@bp.arguments(IdempotencyHeaderSchema, location="headers")
@bp.arguments(ScheduleRequestSchema)
@bp.response(201, ScheduledPaymentSchema)
@bp.alt_response(404, description="No such loan of yours")
@bp.doc(summary="Schedule a payment for a later date; the same Idempotency-Key twice is one")
def scheduled_create(headers: dict, body: dict):
    loan = owned_or_404(Loan, body["loan_id"], "borrower_id", "loan")
    planned = scheduled_payments.schedule(
        db.session, loan, body["amount"], body["pay_on"], payer_id=api_user().id,
        key=headers["key"], today=date.today(), policy=get_policy(),
    )  # fmt: skip
    db.session.commit()
    return planned


@bp.route("/loans/<int:loan_id>/scheduled-payments", methods=["GET"])
@bearer_required(Role.BORROWER, Role.ADMIN)
@bp.response(200, ScheduledListSchema)
@bp.alt_response(404, description="No such loan of yours")
@bp.doc(summary="A loan's scheduled and autopay payments: waiting, collected, failed, cancelled")
def scheduled_index(loan_id: int):
    loan = owned_or_404(Loan, loan_id, "borrower_id", "loan")
    return {"scheduled": scheduled_payments.scheduled_for(db.session, loan.id)}


@bp.route("/payments/scheduled/<int:scheduled_id>", methods=["DELETE"])
@bearer_required(Role.BORROWER)
@bp.response(200, ScheduledPaymentSchema)
@bp.alt_response(404, description="No such scheduled payment of yours")
@bp.doc(summary="Cancel a scheduled payment before the day it is collected")
def scheduled_cancel(scheduled_id: int):
    owned_or_404(ScheduledPayment, scheduled_id, "payer_id", "scheduled payment")
    planned = scheduled_payments.cancel(db.session, scheduled_id, api_user().id, date.today())
    db.session.commit()
    return planned


@bp.route("/loans/<int:loan_id>/autopay", methods=["PUT"])
@bearer_required(Role.BORROWER)
@bp.arguments(AutopaySchema)
@bp.response(200, AutopayAnswerSchema)
@bp.alt_response(404, description="No such loan of yours")
@bp.doc(summary="Autopay on (each installment collected on its due date) or off")
def autopay_update(body: dict, loan_id: int):
    loan = owned_or_404(Loan, loan_id, "borrower_id", "loan")
    scheduled_payments.set_autopay(
        db.session, loan, body["enabled"], payer_id=api_user().id, now=datetime.now(UTC)
    )
    db.session.commit()
    return {
        "loan_id": loan.id,
        "enabled": loan.autopay_since is not None,
        "since": loan.autopay_since,
    }
