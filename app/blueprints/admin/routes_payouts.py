"""The payout queue: withdrawals to send to lenders' banks, and those awaiting the bank's word."""

from flask import flash, url_for
from flask_login import current_user

from app.access import role_required
from app.extensions import db
from app.htmx import hx_redirect, render
from app.models import PayoutState, Role
from app.services.errors import DomainError
from app.services.money import payouts

from .forms import PayoutFailedForm, PayoutSentForm
from .routes import bp


@bp.get("/payouts")
@role_required(Role.ADMIN)
def payout_index():
    """Withdrawals to send (oldest first) and those sent but not yet settled."""
    return render("admin/payouts.html", **_queue_page())


@bp.post("/payouts/<int:transfer_id>/sent")
@role_required(Role.ADMIN)
def payout_sent(transfer_id: int):
    """The bank transfer was made: record its reference and move the money into transit."""
    form = PayoutSentForm(meta={"id_prefix": f"sent-{transfer_id}"})
    if not form.validate_on_submit():
        return _invalid(transfer_id, sent=form)
    return _step(
        lambda: payouts.mark_sent(
            db.session, transfer_id, reference=form.reference.data.strip(), admin_id=current_user.id
        ),
        "Marked sent.",
    )


@bp.post("/payouts/<int:transfer_id>/settled")
@role_required(Role.ADMIN)
def payout_settled(transfer_id: int):
    """The lender's bank took the money."""
    return _step(
        lambda: payouts.mark_settled(db.session, transfer_id, admin_id=current_user.id),
        "Marked settled.",
    )


@bp.post("/payouts/<int:transfer_id>/failed")
@role_required(Role.ADMIN)
def payout_failed(transfer_id: int):
    """Refused before sending, or returned by the bank: the cash goes back to the lender."""
    form = PayoutFailedForm(meta={"id_prefix": f"failed-{transfer_id}"})
    if not form.validate_on_submit():
        return _invalid(transfer_id, failed=form)
    return _step(
        lambda: payouts.mark_failed(
            db.session, transfer_id, reason=form.reason.data.strip(), admin_id=current_user.id
        ),
        "Marked failed; the cash is back with the lender.",
    )


def _step(take, done: str):
    try:
        transfer = take()
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"Withdrawal #{transfer.id}: {done}", "success")
    return hx_redirect(url_for("admin.payout_index"))


def _invalid(transfer_id: int, **forms):
    """The queue again, with the one row's form and its errors (422)."""
    page = _queue_page()
    if transfer_id not in page["forms"]:  # settled, failed or unknown since the page was drawn
        flash(f"Withdrawal #{transfer_id} is no longer waiting.", "error")
        return hx_redirect(url_for("admin.payout_index"))
    page["forms"][transfer_id].update(forms)
    return render("admin/payouts.html", "queue", status=422, **page)


def _queue_page() -> dict:
    waiting = payouts.queue(db.session)
    forms = {
        t.id: {
            "sent": PayoutSentForm(meta={"id_prefix": f"sent-{t.id}"}, formdata=None),
            "failed": PayoutFailedForm(meta={"id_prefix": f"failed-{t.id}"}, formdata=None),
        }
        for t, _ in waiting
    }
    return {
        "to_send": [row for row in waiting if row[0].payout_state is PayoutState.REQUESTED],
        "in_transit": [row for row in waiting if row[0].payout_state is PayoutState.SENT],
        "forms": forms,
    }
