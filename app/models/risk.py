"""Risk assessments of applications and the registry of trained models."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Money, Probability, RatePercent, utcnow
from app.models.credit import CreditFactsMixin


class RiskAssessment(Base):
    __tablename__ = "risk_assessments"
    __table_args__ = (Index("ix_risk_assessments_loan_id_created_at", "loan_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    scorer: Mapped[str] = mapped_column(String(20))  # "ml" or "rules"
    model_version: Mapped[str] = mapped_column(String(40))
    probability_of_default: Mapped[Probability]
    risk_score: Mapped[int]
    grade: Mapped[str] = mapped_column(String(2))
    recommended_rate: Mapped[RatePercent]
    approved: Mapped[bool]
    reasons: Mapped[list] = mapped_column(JSONB)
    features: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RiskModel(Base):
    """A trained model version; exactly the active one scores applications."""

    __tablename__ = "risk_models"
    __table_args__ = (
        Index(
            "uq_risk_models_one_active",
            "is_active",
            unique=True,
            postgresql_where=text("is_active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    artifact_path: Mapped[str] = mapped_column(String(500))
    # A model trained after release: its joblib bytes and sidecar, here so every node loads
    # the same one (the shipped model stays on disk with the code: both empty).
    artifact: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    sidecar: Mapped[dict | None] = mapped_column(JSONB)
    features: Mapped[list] = mapped_column(JSONB)
    metrics: Mapped[dict] = mapped_column(JSONB)
    data_sha256: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class HistoricalOutcome(CreditFactsMixin, Base):
    """An imported loan of known outcome (from another lender or the legacy book), for training."""

    __tablename__ = "historical_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Money]
    term_months: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(30))
    defaulted: Mapped[bool]
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdverseActionNotice(Base):
    """The notice a decline or a counter-offer owes the applicant (ECOA / Regulation B): the
    action, its principal reasons, the creditor, the rights; and the human review asked of it."""

    __tablename__ = "adverse_action_notices"
    __table_args__ = (
        Index(
            "ix_adverse_action_notices_review_waiting",
            "review_requested_at",
            postgresql_where=text("review_requested_at IS NOT NULL AND reviewed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))  # "decline" or "counter_offer"
    action: Mapped[str] = mapped_column(Text)  # the action taken, in one sentence
    reasons: Mapped[list] = mapped_column(JSONB)  # the principal reasons, most important first
    figures: Mapped[dict | None] = mapped_column(JSONB)  # the affordability numbers, if any
    creditor: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)  # the notice as sent, word for word
    model_version: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    review_requested_at: Mapped[datetime | None]
    review_request: Mapped[str | None] = mapped_column(Text)  # the applicant's own words
    reviewed_at: Mapped[datetime | None]
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    review_outcome: Mapped[str | None] = mapped_column(String(20))  # "upheld" or "overturned"
    review_reason: Mapped[str | None] = mapped_column(Text)


class ModelDriftReport(Base):
    """The population stability of a day's window of scored applications against the active
    model's training data (the daily drift job)."""

    __tablename__ = "model_drift_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version: Mapped[str] = mapped_column(String(40))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    window_days: Mapped[int]
    applications: Mapped[int]
    psi: Mapped[dict] = mapped_column(JSONB)  # feature (and "score") → PSI
