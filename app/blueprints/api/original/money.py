"""The original design's money: invest, the portfolio, a loan's payments (twins in v1's
routes_money, on the same services)."""

import uuid
from datetime import date

from flask import current_app, g, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app.extensions import db, get_policy, limiter
from app.models import Investment, InvestmentStatus, Loan, Payment, Role
from app.services.lending import investing
from app.services.money.money import ZERO
from app.services.servicing import (
    note_returns,
    portfolio,
    repayments,
    returns,
    scheduled_payments,
    statements,
)

from . import MoneyNumber, answer, bp, documented_errors, refused, signed_in_required


class OriginalInvestmentRequestSchema(Schema):
    loanId = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))  # noqa: N815
    amount = MoneyNumber(required=True)


class OriginalInvestmentSchema(Schema):
    id = fields.Integer()
    loanId = fields.Integer()  # noqa: N815 - the design's names
    amount = fields.Decimal(as_string=False, places=2)
    status = fields.String()
    expectedReturn = fields.Decimal(as_string=False, places=2)  # noqa: N815
    actualReturn = fields.Decimal(as_string=False, places=2)  # noqa: N815
    investmentDate = fields.Date()  # noqa: N815
    maturityDate = fields.Date(allow_none=True)  # noqa: N815


class OriginalInvestmentAnswerSchema(Schema):
    success = fields.Boolean()
    investment = fields.Nested(OriginalInvestmentSchema)


class OriginalPortfolioSummarySchema(Schema):
    totalInvested = fields.Decimal(as_string=False, places=2)  # noqa: N815
    expectedReturn = fields.Decimal(as_string=False, places=2)  # noqa: N815
    actualReturn = fields.Decimal(as_string=False, places=2)  # noqa: N815
    activeInvestments = fields.Integer()  # noqa: N815
    completedInvestments = fields.Integer()  # noqa: N815


class OriginalPortfolioSchema(Schema):
    success = fields.Boolean()
    investments = fields.List(fields.Nested(OriginalInvestmentSchema))
    summary = fields.Nested(OriginalPortfolioSummarySchema)


@bp.route("/investments/create", methods=["POST"])
@signed_in_required(Role.LENDER)
@limiter.limit(lambda: current_app.config["API_MONEY_RATE_LIMIT"])
@bp.arguments(OriginalInvestmentRequestSchema)
@bp.response(201, OriginalInvestmentAnswerSchema)
@documented_errors(401, 403, 422)
@bp.doc(
    summary="Buy a note in a listed loan (twin: POST /api/v1/investments)",
    description="Send an Idempotency-Key header to make a retry safe: the same key twice "
    "invests once. Without one (as the design's clients do) every request is a new note.",
)
def investments_create(body: dict):
    key = request.headers.get("Idempotency-Key") or f"original-{uuid.uuid4().hex}"
    note = investing.invest(
        db.session,
        lender_id=g.api_user.id,
        loan_id=body["loanId"],
        amount=body["amount"],
        idempotency_key=key,
        policy=get_policy(),
    )
    # Committed first: until then the loan's row is locked, and every investor in it waits.
    db.session().expire_on_commit = False  # answer what was committed, without reading it back
    db.session.commit()
    return answer(201, investment=_notes_view([note])[0])


@bp.route("/investments/portfolio", methods=["GET"])
@signed_in_required(Role.LENDER)
@bp.response(200, OriginalPortfolioSchema)
@documented_errors(401, 403)
@bp.doc(summary="Your notes and their returns (twin: GET /api/v1/investments/portfolio)")
def investments_portfolio():
    lender = g.api_user
    notes = db.session.scalars(
        select(Investment).where(Investment.lender_id == lender.id).order_by(Investment.id.desc())
    ).all()
    views = _notes_view(notes)
    totals = portfolio.note_totals(db.session, lender.id)
    summary = returns.summary(db.session, lender.id, date.today(), get_policy())
    return answer(
        investments=views,
        summary={
            "totalInvested": totals.total_invested,
            "expectedReturn": sum(
                (view["expectedReturn"] for view in views if view["status"] != "refunded"), ZERO
            ),
            "actualReturn": summary.net_return,
            "activeInvestments": totals.active_count,
            "completedInvestments": totals.completed_count,
        },
    )


def _notes_view(notes: list[Investment]) -> list[dict]:
    figures = note_returns.note_returns(db.session, notes, date.today())
    return [
        {
            "id": note.id,
            "loanId": note.loan_id,
            "amount": note.amount,
            "status": note.status.value,
            "expectedReturn": figures[note.id].expected_return
            if note.status is not InvestmentStatus.REFUNDED
            else ZERO,
            "actualReturn": figures[note.id].actual_return,
            "investmentDate": note.created_at.date() if note.created_at else date.today(),
            "maturityDate": figures[note.id].maturity_date,
        }
        for note in notes
    ]


class OriginalPaymentSchema(Schema):
    id = fields.Integer()
    loanId = fields.Integer()  # noqa: N815
    amount = fields.Decimal(as_string=False, places=2)
    paymentDate = fields.Date(allow_none=True)  # noqa: N815
    status = fields.String()
    paymentType = fields.String(  # noqa: N815
        allow_none=True, metadata={"enum": ["scheduled", "early", "late"]}
    )
    dueDate = fields.Date(allow_none=True)  # noqa: N815
    principalAmount = fields.Decimal(as_string=False, places=2)  # noqa: N815
    interestAmount = fields.Decimal(as_string=False, places=2)  # noqa: N815
    feesAmount = fields.Decimal(as_string=False, places=2)  # noqa: N815


class OriginalInstallmentSchema(Schema):
    dueDate = fields.Date()  # noqa: N815
    amount = fields.Decimal(as_string=False, places=2)
    principalAmount = fields.Decimal(as_string=False, places=2)  # noqa: N815
    interestAmount = fields.Decimal(as_string=False, places=2)  # noqa: N815
    status = fields.String()


class OriginalPaymentSummarySchema(Schema):
    totalPaid = fields.Decimal(as_string=False, places=2)  # noqa: N815
    remainingBalance = fields.Decimal(as_string=False, places=2)  # noqa: N815
    nextPaymentDue = fields.Date(allow_none=True)  # noqa: N815
    nextPaymentAmount = fields.Decimal(as_string=False, places=2, allow_none=True)  # noqa: N815


class OriginalScheduledSchema(Schema):
    id = fields.Integer()
    loanId = fields.Integer()  # noqa: N815
    amount = fields.Decimal(as_string=False, places=2)
    paymentDate = fields.Date()  # noqa: N815
    status = fields.String(metadata={"enum": ["scheduled", "collected", "failed", "cancelled"]})
    paymentType = fields.String(  # noqa: N815
        allow_none=True, metadata={"description": "when collected: early, scheduled or late"}
    )
    dueDate = fields.Date(allow_none=True)  # noqa: N815
    autopay = fields.Boolean()
    attempts = fields.Integer()
    lastError = fields.String(allow_none=True)  # noqa: N815
    paymentId = fields.Integer(allow_none=True)  # noqa: N815


class OriginalPaymentHistorySchema(Schema):
    success = fields.Boolean()
    payments = fields.List(fields.Nested(OriginalPaymentSchema))
    scheduled = fields.List(fields.Nested(OriginalScheduledSchema))
    schedule = fields.List(fields.Nested(OriginalInstallmentSchema))
    summary = fields.Nested(OriginalPaymentSummarySchema)


@bp.route("/payments/history/<int:loan_id>", methods=["GET"])
@signed_in_required(Role.BORROWER, Role.ADMIN)
@bp.response(200, OriginalPaymentHistorySchema)
@documented_errors(401, 403, 404)
@bp.doc(summary="A loan's payments, its schedule and what is paid and owed "
        "(twin: GET /api/v1/payments/history/<id>)")  # fmt: skip
def payments_history(loan_id: int):
    loan = db.session.get(Loan, loan_id)
    viewer = g.api_user
    if loan is None or (viewer.role is not Role.ADMIN and loan.borrower_id != viewer.id):
        return refused(404, "No such loan.")
    payments = db.session.scalars(
        select(Payment).where(Payment.loan_id == loan.id).order_by(Payment.id.desc())
    ).all()
    account = statements.statement(db.session, loan, date.today())
    first_due = repayments.first_open_due_date(db.session, loan.id)
    return answer(
        payments=[_payment(payment) for payment in payments],
        scheduled=[
            scheduled_view(planned, first_due)
            for planned in scheduled_payments.scheduled_for(db.session, loan.id)
        ],
        schedule=[_installment(row) for row in account.installments],
        summary={
            "totalPaid": account.total_paid,
            "remainingBalance": loan.principal_outstanding,
            "nextPaymentDue": account.next.due_date if account.next else None,
            "nextPaymentAmount": account.next_amount,
        },
    )


def _payment(payment: Payment) -> dict:
    return {
        "id": payment.id,
        "loanId": payment.loan_id,
        "amount": payment.amount,
        "paymentDate": payment.received_on,
        "status": payment.status.value,
        "paymentType": payment.payment_type.value if payment.payment_type else None,
        "dueDate": payment.due_date,
        "principalAmount": payment.principal_applied,
        "interestAmount": payment.interest_applied,
        "feesAmount": payment.fees_applied,
    }


def _installment(installment) -> dict:
    return {
        "dueDate": installment.due_date,
        "amount": installment.principal_due + installment.interest_due,
        "principalAmount": installment.principal_due,
        "interestAmount": installment.interest_due,
        "status": installment.status.value,
    }


def scheduled_view(planned, first_due: date | None) -> dict:
    """A scheduled payment as a payment record: its type is when it will come (or came)
    against the oldest installment still owed."""
    payment = db.session.get(Payment, planned.payment_id) if planned.payment_id else None
    due = payment.due_date if payment else first_due
    kind = payment.payment_type if payment else repayments.payment_type(planned.pay_on, due)
    return {
        "id": planned.id,
        "loanId": planned.loan_id,
        "amount": planned.amount,
        "paymentDate": planned.next_attempt_on
        if planned.status.value == "scheduled"
        else planned.pay_on,
        "status": planned.status.value,
        "paymentType": kind.value if kind else None,
        "dueDate": due,
        "autopay": planned.autopay,
        "attempts": planned.attempts,
        "lastError": planned.last_error,
        "paymentId": planned.payment_id,
    }


class OriginalScheduleRequestSchema(Schema):
    loanId = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))  # noqa: N815
    amount = MoneyNumber(required=True)
    paymentDate = fields.Date(required=True, metadata={"description": "after today"})  # noqa: N815


class OriginalScheduleAnswerSchema(Schema):
    success = fields.Boolean()
    payment = fields.Nested(OriginalScheduledSchema)


@bp.route("/payments/schedule", methods=["POST"])
@signed_in_required(Role.BORROWER)
@bp.arguments(OriginalScheduleRequestSchema)
@bp.response(201, OriginalScheduleAnswerSchema)
@documented_errors(401, 403, 404, 422)
@bp.doc(
    summary="Schedule a payment for a date (twin: POST /api/v1/payments/scheduled)",
    description="The daily cycle collects it on paymentDate. Send an Idempotency-Key header to "
    "make a retry safe; without one every request schedules another payment.",
)
def payments_schedule(body: dict):
    loan = db.session.get(Loan, body["loanId"])
    if loan is None or loan.borrower_id != g.api_user.id:
        return refused(404, "No such loan.")
    key = request.headers.get("Idempotency-Key") or f"original-{uuid.uuid4().hex}"
    planned = scheduled_payments.schedule(
        db.session, loan, body["amount"], body["paymentDate"], payer_id=g.api_user.id,
        key=key, today=date.today(), policy=get_policy(),
    )  # fmt: skip
    view = scheduled_view(planned, repayments.first_open_due_date(db.session, loan.id))
    db.session.commit()
    return answer(201, payment=view)
