"""Auto-invest strategies, leaving the platform (auto-sell) and the diversification view."""

from datetime import date

from flask import abort, request, url_for
from flask_login import current_user

from app.access import role_required
from app.extensions import db, get_policy
from app.forms import attach_errors
from app.htmx import hx_redirect, render
from app.models import Role
from app.services.errors import DomainError
from app.services.lending import strategies
from app.services.servicing import diversification
from app.services.trading import exits

from .forms import ExitForm, StrategyForm
from .routes import bp


@bp.route("/strategies", methods=["GET", "POST"])
@role_required(Role.LENDER)
def strategy_index():
    """Your strategies, the presets with their default rates, and a form for a new one."""
    form = _strategy_form()
    if _saved(
        form, lambda values: strategies.create(db.session, current_user.id, values, get_policy())
    ):
        return hx_redirect(url_for("lender.strategy_index"))
    status = 422 if form.errors else 200
    page = "lender/strategies/index.html"
    return render(page, "strategy_form", status=status, **_strategies_page(form))


@bp.post("/strategies/presets/<key>")
@role_required(Role.LENDER)
def strategy_from_preset(key: str):
    if key not in strategies.PRESETS:
        abort(404)
    strategies.from_preset(db.session, current_user.id, key)
    db.session.commit()
    return hx_redirect(url_for("lender.strategy_index"))


@bp.route("/strategies/<int:strategy_id>", methods=["GET", "POST"])
@role_required(Role.LENDER)
def strategy_edit(strategy_id: int):
    strategy = _owned(strategy_id)
    form = _strategy_form(strategy)
    if _saved(form, lambda values: strategies.update(db.session, strategy, values, get_policy())):
        return hx_redirect(url_for("lender.strategy_index"))
    status = 422 if form.errors else 200
    page = "lender/strategies/edit.html"
    return render(page, "strategy_form", status=status, form=form, strategy=strategy)


@bp.route("/exit", methods=["GET", "POST"])
@role_required(Role.LENDER)
def exit_show():
    """Sell everything at par or a discount: start, follow, or stop it."""
    form = ExitForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            exits.start(
                db.session, current_user.id, form.markup_percent.data, date.today(), get_policy()
            )
        except DomainError as error:
            attach_errors(form, error, "markup_percent")
        else:
            db.session.commit()
            return hx_redirect(url_for("lender.exit_show"))
    db.session.rollback()
    leaving = exits.current(db.session, current_user.id)
    progress = exits.progress(db.session, leaving) if leaving else None
    status = 422 if form.errors else 200
    page = "lender/strategies/exit.html"
    return render(page, "exit_form", status=status, form=form, progress=progress)


@bp.post("/exit/cancel")
@role_required(Role.LENDER)
def exit_cancel():
    try:
        exits.cancel(db.session, current_user.id)
        db.session.commit()
    except DomainError:
        db.session.rollback()
    return hx_redirect(url_for("lender.exit_show"))


@bp.get("/diversification")
@role_required(Role.LENDER)
def diversification_show():
    view = diversification.concentration(db.session, current_user.id, get_policy())
    return render("lender/strategies/diversification.html", view=view)


def _saved(form: StrategyForm, save) -> bool:
    """A posted, valid strategy form saved and committed; else the refusal on the form and
    nothing kept."""
    if request.method == "POST" and form.validate_on_submit():
        try:
            save(form.values())
        except DomainError as error:
            attach_errors(form, error)
        else:
            db.session.commit()
            return True
    db.session.rollback()
    return False


def _owned(strategy_id: int):
    try:
        return strategies.owned(db.session, current_user.id, strategy_id)
    except DomainError:
        abort(404)


def _strategy_form(strategy=None) -> StrategyForm:
    data = {}
    if strategy is not None and request.method == "GET":
        data = {column: getattr(strategy, column) for column in strategies.EDITABLE}
        data |= {f"weight_{g.lower()}": w for g, w in strategy.grade_weights.items()}
    form = StrategyForm(data=data) if data else StrategyForm()
    form.terms.choices = [(term, f"{term} months") for term in get_policy().loan_terms]
    return form


def _strategies_page(form: StrategyForm) -> dict:
    rates = strategies.default_rates(db.session)
    bought = strategies.notes_bought(db.session, current_user.id)
    return {
        "form": form,
        "mine": strategies.of_lender(db.session, current_user.id),
        "presets": strategies.PRESETS.values(),
        "rates": rates,
        "blended": {
            key: strategies.blended_rate(p.grade_weights, rates)
            for key, p in strategies.PRESETS.items()
        },
        "bought": bought,
    }
