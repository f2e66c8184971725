"""The portfolio (summary, notes, transactions, charts, CSV) and recommendations with rules."""

import csv
import io
from datetime import UTC, date, datetime

from flask import Response, current_app, flash, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.access import role_required
from app.extensions import db, get_policy, stale_reads
from app.forms import page_number
from app.htmx import hx_redirect, render
from app.models import LenderPreference, RiskTolerance, Role
from app.services.lending import recommendations
from app.services.money import cash
from app.services.servicing import note_returns, portfolio, returns

from .forms import PreferencesForm
from .routes import bp


@bp.get("/portfolio")
@role_required(Role.LENDER)
def portfolio_show():
    """Summary, charts, notes (filterable) and recent transactions."""
    status = request.args.get("status") or None
    page = page_number(request.args)
    return render("lender/portfolio.html", "notes_table", **_portfolio_page(status, page))


NOTES_CSV_HEADER = (
    "note",
    "loan",
    "grade",
    "rate_percent",
    "term_months",
    "amount",
    "principal_outstanding",
    "note_status",
    "loan_status",
    "bought_on",
)


@bp.get("/portfolio/notes.csv")
@role_required(Role.LENDER)
def notes_csv():
    """Every note as CSV (cells that could run as formulas are escaped)."""
    rows = [
        (
            note.id,
            loan.id,
            loan.risk_grade,
            loan.interest_rate,
            loan.term_months,
            note.amount,
            note.principal_outstanding,
            note.status,
            loan.servicing_status or loan.status,
            note.created_at.date(),
        )
        for note, loan in portfolio.notes(stale_reads(), current_user.id)
    ]
    return _csv("notes.csv", NOTES_CSV_HEADER, rows)


@bp.get("/portfolio/transactions.csv")
@role_required(Role.LENDER)
def transactions_csv():
    """Every movement of available cash as CSV."""
    rows = [
        (t["at"].isoformat(), t["kind"], t["memo"], t["amount"])
        for t in portfolio.transactions(stale_reads(), current_user.id, limit=None)
    ]
    return _csv("transactions.csv", ("at", "kind", "memo", "amount"), rows)


@bp.get("/recommendations")
@role_required(Role.LENDER)
def recommendation_index():
    """Listed loans ranked against the lender's preferences, with the reasons."""
    preference = _preference()
    return render(
        "lender/recommendations.html", **_recommendation_page(_form(preference), preference)
    )


@bp.post("/preferences")
@role_required(Role.LENDER)
def preference_update():
    """Save preferences and auto-invest rules; invalid input is a 422 form."""
    preference = _preference()
    form = _form(preference)
    if not current_app.config["ENABLE_AUTO_MATCHING"]:  # the controls were disabled: keep them
        _keep_auto_invest(form, preference)
    if form.validate_on_submit() and _rules_hold(form):
        _save(preference, form)
        db.session.commit()
        flash("Preferences saved.", "success")
        return hx_redirect(url_for("lender.recommendation_index"))
    return render(
        "lender/recommendations.html",
        "preferences",
        status=422,
        **_recommendation_page(form, preference),
    )


def _portfolio_page(status: str | None, page: int) -> dict:
    today = date.today()
    shares = portfolio.allocation(db.session, current_user.id)
    notes, page, pages = portfolio.notes_page(db.session, current_user.id, status, page)
    return {
        "summary": returns.summary(db.session, current_user.id, today),
        "note_status": status,
        "notes": notes,
        "note_figures": note_returns.note_returns(db.session, [n for n, _ in notes], today),
        "notes_page": page,
        "notes_pages": pages,
        "transactions": portfolio.transactions(db.session, current_user.id, limit=20),
        "by_grade": portfolio.chart_bars(shares["grade"]),
        "by_status": portfolio.chart_bars(shares["status"]),
        "received": portfolio.chart_bars(
            portfolio.monthly_cash_received(db.session, current_user.id)
        ),
        "projected": portfolio.chart_bars(
            portfolio.projected_cash_flow(db.session, current_user.id)
        ),
    }


def _csv(name: str, header, rows) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[portfolio.csv_cell(cell) for cell in row] for row in rows])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


def _preference() -> LenderPreference:
    return recommendations.preference_of(db.session, current_user.id)


def _form(preference: LenderPreference) -> PreferencesForm:
    defaults = {
        "risk_tolerance": preference.risk_tolerance.value,
        "min_note_amount": preference.min_note_amount,
        "max_note_amount": preference.max_note_amount,
        "terms": preference.terms,
        "purposes": preference.purposes,
        "grades": preference.grades,
        "auto_invest_enabled": preference.auto_invest_enabled,
        "auto_amount_per_note": preference.auto_amount_per_note,
        "auto_max_per_loan": preference.auto_max_per_loan,
        "auto_cash_cap": preference.auto_cash_cap,
    }
    if not preference.auto_cash_cap:  # suggest the cash on hand, not a cap that blocks all
        defaults["auto_cash_cap"] = cash.available_cash(db.session, current_user.id)
    form = PreferencesForm(data=defaults) if request.method == "GET" else PreferencesForm()
    form.terms.choices = [SelectChoice(t, f"{t} months") for t in get_policy().loan_terms]
    if not current_app.config["ENABLE_AUTO_MATCHING"]:
        for name in AUTO_FIELDS:
            getattr(form, name).render_kw = {"disabled": True}
    return form


def _rules_hold(form: PreferencesForm) -> bool:
    """The checks across fields; a broken one puts its message on its field."""
    if form.max_note_amount.data < form.min_note_amount.data:
        form.max_note_amount.errors = ["Must be at least the smallest note."]
    elif form.auto_max_per_loan.data < form.auto_amount_per_note.data:
        form.auto_max_per_loan.errors = ["Must be at least the amount per note."]
    elif form.auto_invest_enabled.data and form.auto_cash_cap.data < form.auto_amount_per_note.data:
        form.auto_cash_cap.errors = [
            f"Auto-invest needs room for at least one note: "
            f"${form.auto_amount_per_note.data:,.2f} or more."
        ]
    else:
        return True
    return False


AUTO_FIELDS = ("auto_invest_enabled", "auto_amount_per_note", "auto_max_per_loan", "auto_cash_cap")


def _keep_auto_invest(form: PreferencesForm, preference: LenderPreference) -> None:
    """While the platform's auto-invest is off its controls are disabled (browsers send
    nothing for them): the stored rules stay as they are."""
    for name in AUTO_FIELDS:
        getattr(form, name).raw_data = None
        getattr(form, name).data = getattr(preference, name)
        getattr(form, name).validators = []


def _save(preference: LenderPreference, form: PreferencesForm) -> None:
    preference.risk_tolerance = RiskTolerance(form.risk_tolerance.data)
    for name in (
        "min_note_amount",
        "max_note_amount",
        "auto_amount_per_note",
        "auto_max_per_loan",
        "auto_cash_cap",
        "auto_invest_enabled",
    ):
        setattr(preference, name, getattr(form, name).data)
    preference.terms, preference.purposes = list(form.terms.data), list(form.purposes.data)
    preference.grades = list(form.grades.data)
    preference.auto_invest_updated_at = datetime.now(UTC)
    db.session.add(preference)


def _recommendation_page(form: PreferencesForm, preference: LenderPreference) -> dict:
    return {
        "form": form,
        "matches": recommendations.for_lender(db.session, preference),
        "auto_enabled": current_app.config["ENABLE_AUTO_MATCHING"],
    }
