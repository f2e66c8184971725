"""Money over the API: invest, the portfolio, pay a loan, a loan's payments — idempotent by key."""

from datetime import date

from flask import current_app
from sqlalchemy import select

from app.extensions import db, get_gateway, get_policy, limiter
from app.models import (
    Investment,
    Loan,
    Payment,
    Role,
)
from app.services.lending import investing
from app.services.money import payments
from app.services.servicing import (
    note_returns,
    portfolio,
    returns,
    scheduled_payments,
    statements,
)

from .routes import api_user, bearer_required, bp, owned_or_404
from .schemas import (
    IdempotencyHeaderSchema,
    InvestmentRequestSchema,
    InvestmentSchema,
    PaymentHistorySchema,
    PaymentRequestSchema,
    PaymentResultSchema,
    PortfolioSchema,
)


def _money_limit() -> str:
    return current_app.config["API_MONEY_RATE_LIMIT"]


def _per_user() -> str:
    return f"user:{api_user().id}"  # after bearer_required: one budget per person, not per IP


@bp.route("/investments", methods=["POST"])
@bearer_required(Role.LENDER)
@limiter.limit(_money_limit, key_func=_per_user)
@bp.arguments(IdempotencyHeaderSchema, location="headers")
@bp.arguments(InvestmentRequestSchema)
@bp.response(201, InvestmentSchema)
@bp.doc(summary="Buy notes in a listed loan; the same Idempotency-Key twice invests once")
def investment_create(headers: dict, body: dict):
    note = investing.invest(
        db.session,
        lender_id=api_user().id,
        loan_id=body["loan_id"],
        amount=body["amount"],
        idempotency_key=headers["key"],
        policy=get_policy(),
    )
    # Committed first: until then the loan's row is locked, and every investor in it waits.
    db.session().expire_on_commit = False  # answer what was committed, without reading it back
    db.session.commit()
    (shown,) = with_returns([note])
    return shown


@bp.route("/investments/portfolio", methods=["GET"])
@bearer_required(Role.LENDER)
@bp.response(200, PortfolioSchema)
@bp.doc(summary="Your notes and a summary: invested, expected and actual return, NAR")
def portfolio_show():
    lender = api_user()
    notes = db.session.scalars(
        select(Investment).where(Investment.lender_id == lender.id).order_by(Investment.id.desc())
    ).all()
    summary = returns.summary(db.session, lender.id, date.today(), get_policy())
    totals = portfolio.note_totals(db.session, lender.id)
    return {
        "investments": with_returns(notes),
        "summary": {
            "total_invested": totals.total_invested,
            "outstanding_principal": summary.outstanding_principal,
            "available_cash": summary.available_cash,
            "committed_cash": summary.committed_cash,
            "expected_return": portfolio.scheduled_interest(db.session, lender.id),
            "actual_return": summary.net_return,
            "active_count": totals.active_count,
            "completed_count": totals.completed_count,
            "nar_percent": summary.nar_percent,
            "adjusted_nar_percent": summary.adjusted_nar_percent,
        },
    }


class NoteWithReturns:
    """A note as the API shows it: its own fields, and `returns` from note_returns."""

    def __init__(self, note: Investment, figures: note_returns.NoteReturn):
        self._note, self.returns = note, figures

    def __getattr__(self, name):
        return getattr(self._note, name)


def with_returns(notes: list[Investment]) -> list[NoteWithReturns]:
    figures = note_returns.note_returns(db.session, notes, date.today())
    return [NoteWithReturns(note, figures[note.id]) for note in notes]


@bp.route("/payments", methods=["POST"])
@bearer_required(Role.BORROWER)
@limiter.limit(_money_limit, key_func=_per_user)
@bp.arguments(IdempotencyHeaderSchema, location="headers")
@bp.arguments(PaymentRequestSchema)
@bp.response(201, PaymentResultSchema)
@bp.alt_response(404, description="No such loan of yours")
@bp.doc(summary="Pay towards your loan; the same Idempotency-Key twice pays once")
def payment_create(headers: dict, body: dict):
    loan = owned_or_404(Loan, body["loan_id"], "borrower_id", "loan")
    result = payments.pay_loan(
        db.session,
        get_gateway(),
        loan,
        body["amount"],
        payer_id=loan.borrower_id,
        key=headers["key"],
        today=date.today(),
        policy=get_policy(),
    )
    db.session.commit()
    return {
        "payment": result.payment,
        "message": result.message,
        "client_secret": result.client_secret,
    }


@bp.route("/payments/history/<int:loan_id>", methods=["GET"])
@bearer_required(Role.BORROWER, Role.ADMIN)
@bp.response(200, PaymentHistorySchema)
@bp.alt_response(404, description="No such loan of yours")
@bp.doc(summary="A loan's payments, its schedule, and what is paid and still owed")
def payment_history(loan_id: int):
    loan = owned_or_404(Loan, loan_id, "borrower_id", "loan")
    payments = db.session.scalars(
        select(Payment).where(Payment.loan_id == loan.id).order_by(Payment.id.desc())
    ).all()
    account = statements.statement(db.session, loan, date.today())
    return {
        "payments": payments,
        "scheduled": scheduled_payments.scheduled_for(db.session, loan.id),
        "schedule": account.installments,
        "summary": {
            "total_paid": account.total_paid,
            "remaining_balance": loan.principal_outstanding,
            "next_payment_due": account.next.due_date if account.next else None,
            "next_payment_amount": account.next_amount,
        },
    }
