"""The risk model card: metrics, charts, grades, fairness, versions, training and activation."""

from flask import flash, url_for
from flask_login import current_user

from app.access import role_required
from app.extensions import db
from app.htmx import hx_redirect, render
from app.models import Role
from app.risk import drift
from app.services.errors import DomainError
from app.services.platform import model_drift, outbox, risk_models

from .routes import bp


@bp.get("/risk")
@role_required(Role.ADMIN)
def risk_show():
    """The active model's card and every version on disk."""
    return render("admin/risk.html", **_model_card())


@bp.post("/risk/<version>/activate")
@role_required(Role.ADMIN)
def risk_activate(version: str):
    """Activate a trained version for scoring."""
    if version not in risk_models.versions(db.session):
        flash("That model version does not exist.", "error")
        return hx_redirect(url_for("admin.risk_show"))
    try:
        risk_models.activate(db.session, version, admin_id=current_user.id)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"{version} now scores new applications.", "success")
    return hx_redirect(url_for("admin.risk_show"))


@bp.post("/risk/train")
@role_required(Role.ADMIN)
def risk_train():
    """Queue a training run (it registers a new, inactive version)."""
    outbox.add(db.session, "train_model", {"with_platform_loans": True}, user_id=current_user.id)
    db.session.commit()
    flash(
        "Training started. The new version appears below when it is done; activate it to use it.",
        "success",
    )
    return hx_redirect(url_for("admin.risk_show"))


def _model_card() -> dict:
    active = risk_models.active_version(db.session)
    sidecars = {v: risk_models.sidecar(db.session, v) for v in risk_models.versions(db.session)}
    volumes = model_drift.volumes(db.session)
    versions = [
        {
            "version": v,
            "active": v == active,
            **sidecar["cv"]["chosen"],
            "created_at": sidecar["created_at"],
            "volume": volumes.get(v, {"scored": 0, "approved": 0}),
        }
        for v, sidecar in sidecars.items()
    ]
    return {
        "active": active,
        "card": risk_models.sidecar(db.session, active),
        "versions": sorted(versions, key=lambda v: v["created_at"], reverse=True),
        "drift": model_drift.latest(db.session),
        "drift_level": drift.level,
    }
