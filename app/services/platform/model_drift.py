"""The daily drift watch: scored applications against the active model's training data."""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ModelDriftReport, RiskAssessment
from app.risk import drift
from app.services.platform import notifications, risk_models

WINDOW_DAYS = 30
FEWEST = 50  # below this many applications a PSI is noise: no report


def measure(session: Session, now: datetime, window_days: int = WINDOW_DAYS):
    """PSI of each feature and of the score over the last `window_days` of the active model's
    applications; stored, and told to the admins when any has shifted. None when the model
    carries no training bins or too few applications came in."""
    version = risk_models.active_version(session)
    bins = risk_models.sidecar(session, version).get("drift_reference")
    if not bins:
        return None
    scored = session.execute(
        select(RiskAssessment.features, RiskAssessment.probability_of_default).where(
            RiskAssessment.model_version == version,
            RiskAssessment.created_at >= now - timedelta(days=window_days),
        )
    ).all()
    if len(scored) < FEWEST:
        return None
    psi = drift.stability(bins, [row[0] for row in scored], [float(row[1]) for row in scored])
    report = ModelDriftReport(
        model_version=version,
        computed_at=now,
        window_days=window_days,
        applications=len(scored),
        psi=psi,
    )
    session.add(report)
    session.flush()
    _warn(session, report)
    return report


def latest(session: Session) -> ModelDriftReport | None:
    return session.scalars(
        select(ModelDriftReport).order_by(ModelDriftReport.computed_at.desc()).limit(1)
    ).first()


def volumes(session: Session) -> dict[str, dict]:
    """Decisions per model version: how many applications each scored, and approved."""
    rows = session.execute(
        select(
            RiskAssessment.model_version,
            func.count(),
            func.count().filter(RiskAssessment.approved.is_(True)),
        ).group_by(RiskAssessment.model_version)
    )
    return {version: {"scored": n, "approved": ok} for version, n, ok in rows}


def _warn(session: Session, report: ModelDriftReport) -> None:
    shifted = {name: value for name, value in report.psi.items() if value > drift.SHIFTED}
    if not shifted:
        return
    named = ", ".join(f"{name.replace('_', ' ')} {value:.2f}" for name, value in shifted.items())
    notifications.notify_admins(
        session,
        "model.drift",
        "Applications have drifted from the model's training data",
        f"Population stability index above {drift.SHIFTED} over the last "
        f"{report.window_days} days ({report.applications} applications, model "
        f"{report.model_version}): {named}. The model's figures may no longer hold.",
        link=("admin.risk_show", {}),
        dedupe_key=f"drift-{report.computed_at:%Y-%m-%d}",
    )
