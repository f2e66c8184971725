"""The human review of automated decisions: the queue of reviews asked for, and the decision."""

from flask import flash, url_for
from flask_login import current_user

from app.access import role_required
from app.extensions import db, get_policy
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.models import Role
from app.services.errors import DomainError
from app.services.lending import adverse_action

from .forms import NoticeReviewForm
from .routes import bp

QUEUE = "admin/reviews.html"


@bp.get("/reviews")
@role_required(Role.ADMIN)
def notice_reviews():
    """Declines and counter-offers whose applicants asked for a person to review them."""
    return render(QUEUE, **_queue_page())


@bp.post("/reviews/<int:notice_id>")
@role_required(Role.ADMIN)
def notice_review_decide(notice_id: int):
    """Uphold or overturn, with the reason the applicant will read (422 with field errors)."""
    form = NoticeReviewForm(meta={"id_prefix": f"review-{notice_id}"})
    if form.validate_on_submit():
        try:
            adverse_action.decide_review(
                db.session, notice_id, current_user.id, form.outcome.data, form.reason.data,
                form.grade.data or None, get_policy(),
            )  # fmt: skip
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error, "reason")
        else:
            db.session.commit()
            flash("Decided; the applicant has been told.", "success")
            return hx_redirect(url_for("admin.notice_reviews"))
    return render(QUEUE, "queue", status=422, **_queue_page({notice_id: form}))


def _queue_page(submitted: dict[int, NoticeReviewForm] | None = None) -> dict:
    waiting = adverse_action.review_queue(db.session)
    forms = {
        notice.id: (submitted or {}).get(notice.id)
        or NoticeReviewForm(formdata=None, meta={"id_prefix": f"review-{notice.id}"})
        for notice, _ in waiting
    }
    return {"queue": waiting, "forms": forms}
