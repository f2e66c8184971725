"""Which trained model scores applications: registration, activation, platform outcomes."""

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import HistoricalOutcome, Loan, LoanStatus, RiskModel, ServicingStatus
from app.risk import registry
from app.risk.features import FeatureError, build_features
from app.services.errors import DomainError
from app.services.platform import activity


def active_version(session: Session) -> str:
    """The activated model's version, or the one shipped with the code."""
    version = session.scalar(select(RiskModel.version).where(RiskModel.is_active.is_(True)))
    return version or registry.default_version()


def register(session: Session, version: str) -> RiskModel:
    """Record a trained version (inactive) from its sidecar; idempotent."""
    found = session.scalar(select(RiskModel).where(RiskModel.version == version))
    if found is not None:
        return found
    meta = registry.sidecar(version)
    model = RiskModel(
        version=version,
        artifact_path=f"model-{version}.joblib",
        features=meta["features"],
        metrics=meta["cv"]["chosen"],
        data_sha256=meta["training_data"]["sha256"],
        is_active=False,
    )
    session.add(model)
    session.flush()
    return model


def train_and_register(session: Session, *, with_platform_loans: bool) -> str:
    """Train, save and register (inactive) a new model version; returns the version."""
    from app.risk import train  # scikit-learn's training stack loads only when a model is trained

    extra = training_extras(session) if with_platform_loans else None
    bundle = train.train(extra_rows=extra)
    registry.save(bundle)
    register(session, bundle.version)
    return bundle.version


def activate(session: Session, version: str, admin_id: int | None = None) -> RiskModel:
    """Make `version` the one that scores applications (after it loads cleanly)."""
    try:
        registry.load(version)
    except registry.RegistryError as error:
        raise DomainError(f"Model {version} cannot be activated: {error}") from error
    model = register(session, version)
    session.execute(update(RiskModel).where(RiskModel.id != model.id).values(is_active=False))
    session.flush()
    model.is_active = True
    model.activated_at = datetime.now(UTC)
    model.activated_by_id = admin_id
    session.flush()
    activity.record(
        session, "risk.model_activated", user_id=admin_id, entity=model, version=version
    )
    return model


def platform_outcomes(session: Session) -> tuple[list[dict], list[int]]:
    """Features and outcomes of the platform's own matured loans (paid off 0, charged off 1)."""
    rows, outcomes = [], []
    matured = session.scalars(
        select(Loan).where(
            Loan.status == LoanStatus.ISSUED,
            Loan.servicing_status.in_([ServicingStatus.PAID_OFF, ServicingStatus.CHARGED_OFF]),
        )
    )
    for loan in matured:
        try:
            rows.append(build_features(application_of(loan)))
        except FeatureError:
            continue
        outcomes.append(int(loan.servicing_status is ServicingStatus.CHARGED_OFF))
    return rows, outcomes


def imported_outcomes(session: Session) -> tuple[list[dict], list[int]]:
    """Features and outcomes of loans imported with a known outcome (`flask import outcomes`)."""
    rows, outcomes = [], []
    for history in session.scalars(select(HistoricalOutcome).order_by(HistoricalOutcome.id)):
        try:
            rows.append(build_features(application_of(history)))
        except FeatureError:
            continue
        outcomes.append(int(history.defaulted))
    return rows, outcomes


def training_extras(session: Session) -> tuple[list[dict], list[int]] | None:
    """The platform's matured loans and imported histories, to train beside the public data."""
    rows, outcomes = platform_outcomes(session)
    imported_rows, imported = imported_outcomes(session)
    return (rows + imported_rows, outcomes + imported) if rows or imported_rows else None


def application_of(loan: Loan | HistoricalOutcome) -> dict:
    """The risk model's view of a loan application."""
    return {
        "amount": loan.amount,
        "annual_income": loan.annual_income,
        "monthly_debt": loan.monthly_debt,
        "credit_score": loan.credit_score,
        "revolving_utilization": loan.revolving_utilization,
        "revolving_balance": loan.revolving_balance,
        "inquiries_6m": loan.inquiries_6m,
        "public_records": loan.public_records,
        "purpose": getattr(loan.purpose, "value", loan.purpose),
        "credit_history_months": loan.credit_history_months,
        "delinquencies_2y": loan.delinquencies_2y,
    }
