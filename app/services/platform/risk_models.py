"""Which trained model scores applications: registration, activation, platform outcomes.

A model trained here is stored in `risk_models` (its bytes and sidecar), so the worker that
trained it, the admin's web node that activates it and every node that scores with it all load
the same one. The model shipped with the code is read from disk.
"""

from collections import OrderedDict
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


def register(
    session: Session, version: str, data: bytes | None = None, meta: dict | None = None
) -> RiskModel:
    """Record a version (inactive): a trained one with its bytes, or one on disk; idempotent."""
    found = session.scalar(select(RiskModel).where(RiskModel.version == version))
    if found is not None:
        return found
    meta = meta or registry.sidecar(version)
    model = RiskModel(
        version=version,
        artifact_path=f"model-{version}.joblib" if data is None else "database",
        artifact=data,
        sidecar=meta if data is not None else None,
        features=meta["features"],
        metrics=meta["cv"]["chosen"],
        data_sha256=meta["training_data"]["sha256"],
        is_active=False,
    )
    session.add(model)
    session.flush()
    return model


def train_and_register(session: Session, *, with_platform_loans: bool) -> str:
    """Train and register (inactive) a new model version, in the database; returns it."""
    from app.risk import train  # scikit-learn's training stack loads only when a model is trained

    extra = training_extras(session) if with_platform_loans else None
    bundle = train.train(extra_rows=extra)
    data, meta = registry.to_bytes(bundle)
    register(session, bundle.version, data, meta)
    return bundle.version


def versions(session: Session) -> list[str]:
    """Every version there is: the ones shipped on disk, then the ones trained here."""
    stored = session.scalars(
        select(RiskModel.version).where(RiskModel.sidecar.is_not(None)).order_by(RiskModel.id)
    ).all()
    return [v for v in registry.versions() if v not in stored] + list(stored)


def sidecar(session: Session, version: str) -> dict:
    stored = session.scalar(select(RiskModel.sidecar).where(RiskModel.version == version))
    return stored or registry.sidecar(version)


_LOADED: OrderedDict[str, object] = OrderedDict()  # a version's bytes never change: cache a few


def load_bundle(session: Session, version: str):
    """The model `version`, from the database when it was trained here, else from disk."""
    if version in _LOADED:
        _LOADED.move_to_end(version)
        return _LOADED[version]
    row = session.execute(
        select(RiskModel.artifact, RiskModel.sidecar).where(RiskModel.version == version)
    ).first()
    if row is not None and row.sidecar is not None:
        bundle = registry.from_bytes(version, row.artifact, row.sidecar)
    else:
        bundle = registry.load(version)
    _LOADED[version] = bundle
    while len(_LOADED) > 4:
        _LOADED.popitem(last=False)
    return bundle


def activate(session: Session, version: str, admin_id: int | None = None) -> RiskModel:
    """Make `version` the one that scores applications (after it loads cleanly)."""
    try:
        load_bundle(session, version)
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
