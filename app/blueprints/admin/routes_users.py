"""People: search, one person's page, and the admin actions on them (each in the activity log)."""

from collections.abc import Callable

from flask import Response, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select

from app.access import role_required
from app.confirmation import ask, confirmed, rehearse
from app.extensions import db
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.models import Loan, Role, User
from app.security_events import record_viewing
from app.services.accounts import documents
from app.services.errors import DomainError
from app.services.lending import review

from . import confirmations
from .forms import ReactivateForm, RoleForm, SuspendForm, VerifyForm
from .routes import bp

PAGE_SIZE = 25
USER_PAGE = "admin/users/show.html"


@bp.get("/users")
@role_required(Role.ADMIN)
def user_index():
    """Search people by name or email (active search)."""
    query = (request.args.get("q") or "").strip()
    statement = select(User).order_by(User.created_at.desc()).limit(PAGE_SIZE)
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(
            or_(User.email.like(pattern), (User.first_name + " " + User.last_name).ilike(pattern))
        )
    users = db.session.scalars(statement).all()
    return render("admin/users/index.html", "user_rows", users=users, query=query)


@bp.get("/users/<int:user_id>")
@role_required(Role.ADMIN)
def user_show(user_id: int):
    """A person, their documents and the admin actions (each view of them is logged)."""
    person = db.get_or_404(User, user_id)
    record_viewing("admin.viewed_person", person)
    return render(USER_PAGE, **_user_page(person))


@bp.post("/users/<int:user_id>/verify")
@role_required(Role.ADMIN)
def user_verify(user_id: int):
    """Mark their identity verified (needs a verified identity document)."""
    return _act(
        user_id,
        "verify",
        VerifyForm(),
        lambda user, form: review.verify_identity(db.session, user.id, current_user.id),
    )


@bp.post("/users/<int:user_id>/suspend")
@role_required(Role.ADMIN)
def user_suspend(user_id: int):
    """Stop them signing in, with a reason; their sessions end now."""
    return _act(
        user_id,
        "suspend",
        SuspendForm(),
        lambda user, form: review.suspend(db.session, user.id, current_user.id, form.reason.data),
        confirmation=lambda user, form: confirmations.suspension(user, form.reason.data),
    )


@bp.post("/users/<int:user_id>/reactivate")
@role_required(Role.ADMIN)
def user_reactivate(user_id: int):
    """Let a suspended person back in."""
    return _act(
        user_id,
        "reactivate",
        ReactivateForm(),
        lambda user, form: review.reactivate(db.session, user.id, current_user.id),
    )


@bp.post("/users/<int:user_id>/role")
@role_required(Role.ADMIN)
def user_role(user_id: int):
    """Give them another role (the platform always keeps an active admin)."""
    return _act(
        user_id,
        "role",
        RoleForm(),
        lambda user, form: review.change_role(
            db.session, user.id, Role(form.role.data), current_user.id
        ),
    )


def _act(
    user_id: int,
    name: str,
    form: FlaskForm,
    action: Callable,
    confirmation: Callable | None = None,
) -> Response:
    """Validate, call `action(user, form)` (once `confirmation(user, form)` is confirmed, if
    given), commit; a refusal re-renders the actions with it."""
    user = db.get_or_404(User, user_id)
    if form.validate_on_submit():
        try:
            if confirmation and not confirmed():
                rehearse(lambda: action(user, form))
                return ask(confirmation(user, form), url_for("admin.user_show", user_id=user.id))
            action(user, form)
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error)
        else:
            db.session.commit()
            flash("Saved.", "success")
            return hx_redirect(url_for("admin.user_show", user_id=user.id))
    return render(USER_PAGE, "user_actions", status=422, **_user_page(user, **{name: form}))


def _user_page(
    user: User,
    verify: VerifyForm | None = None,
    suspend: SuspendForm | None = None,
    reactivate: ReactivateForm | None = None,
    role: RoleForm | None = None,
) -> dict:
    loans = db.session.scalars(
        select(Loan).where(Loan.borrower_id == user.id).order_by(Loan.id)
    ).all()
    return {
        "user": user,
        "documents": documents.of_user(db.session, user.id),
        "loans": loans,
        "verify": verify or VerifyForm(formdata=None),
        "suspend": suspend or SuspendForm(formdata=None),
        "reactivate": reactivate or ReactivateForm(formdata=None),
        "role": role or RoleForm(formdata=None, role=user.role.value),
    }
