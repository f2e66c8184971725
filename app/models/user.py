"""People and their credentials: users, roles, API tokens."""

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Money, TimestampMixin, str_enum
from app.models.sealed import SealedDate, SealedText


class Role(enum.StrEnum):
    BORROWER = "borrower"
    LENDER = "lender"
    ADMIN = "admin"


class EmploymentStatus(enum.StrEnum):
    EMPLOYED = "employed"
    SELF_EMPLOYED = "self_employed"
    UNEMPLOYED = "unemployed"
    RETIRED = "retired"
    STUDENT = "student"


class VerificationStatus(enum.StrEnum):
    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class CreditScoreSource(enum.StrEnum):
    """Where a person's credit score came from (the original design's `users.credit_score`);
    an application's own score, on the loan, is what underwriting uses."""

    SELF_REPORTED = "self_reported"
    IMPORTED = "imported"  # from a partner's users.csv
    BUREAU = "bureau"


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_role_created_at", "role", "created_at"),
        CheckConstraint("annual_income IS NULL OR annual_income >= 0", name="income_not_negative"),
        CheckConstraint(
            "credit_score IS NULL OR credit_score BETWEEN 300 AND 850", name="credit_score_range"
        ),
        CheckConstraint(
            "(credit_score IS NULL) = (credit_score_source IS NULL)", name="credit_score_sourced"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased (app.services.accounts.accounts.normalise_email), so UNIQUE is case-blind.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # Personal data, sealed at rest (models/sealed.py); lengths are the forms' and the API's.
    phone: Mapped[str | None] = mapped_column(SealedText("users.phone"))
    date_of_birth: Mapped[date | None] = mapped_column(SealedDate("users.date_of_birth"))
    address_line1: Mapped[str | None] = mapped_column(SealedText("users.address_line1"))
    address_line2: Mapped[str | None] = mapped_column(SealedText("users.address_line2"))
    city: Mapped[str | None] = mapped_column(SealedText("users.city"))
    state: Mapped[str | None] = mapped_column(SealedText("users.state"))
    postal_code: Mapped[str | None] = mapped_column(SealedText("users.postal_code"))
    country: Mapped[str] = mapped_column(String(2), default="US", server_default="US")
    annual_income: Mapped[Money | None]
    # A lender's declared net worth: their notes may total at most a policy share of it.
    net_worth: Mapped[Money | None]
    employment_status: Mapped[EmploymentStatus | None] = mapped_column(
        str_enum(EmploymentStatus, "employment_status")
    )
    credit_score: Mapped[int | None]
    credit_score_source: Mapped[CreditScoreSource | None] = mapped_column(
        str_enum(CreditScoreSource, "credit_score_source")
    )
    # A card saved at the payment provider for payments made without the person present
    # (scheduled and autopay): Stripe's customer and payment method ids, and how to name it.
    provider_customer_ref: Mapped[str | None] = mapped_column(String(120))
    saved_card_ref: Mapped[str | None] = mapped_column(String(120))
    saved_card_label: Mapped[str | None] = mapped_column(String(60))
    identity_status: Mapped[VerificationStatus] = mapped_column(
        str_enum(VerificationStatus, "identity_status"),
        default=VerificationStatus.UNVERIFIED,
        server_default=VerificationStatus.UNVERIFIED.value,
    )
    identity_verified_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    suspended_at: Mapped[datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(String(500))
    last_login_at: Mapped[datetime | None]
    failed_login_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Two-step sign-in: the TOTP seed sealed with AES-GCM (services/platform/sealing.py), when
    # it was turned on, and the last time step accepted (a code is never accepted twice).
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(300))
    mfa_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]

    api_tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def profile_complete(self) -> bool:
        required = (
            self.phone,
            self.date_of_birth,
            self.address_line1,
            self.city,
            self.postal_code,
            self.annual_income,
            self.employment_status,
        )
        return all(value is not None and value != "" for value in required)

    # Flask-Login protocol (UserMixin would add nothing we need).
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="api")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="api_tokens")


class UserSession(Base):
    """A server-side record of one sign-in; the cookie only names it, so logout can end it."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_revoked_at", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))


class PendingRegistration(Base):
    """A sign-up waiting for its email to be confirmed; the account exists only after that.

    Until then nothing about the address is settled, so registering answers the same whether
    or not it already has an account (the email says which)."""

    __tablename__ = "pending_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    emailed_at: Mapped[datetime | None]


class SignInThrottle(Base):
    """Failed sign-ins per email address, whether or not it has an account (so the pause
    reveals nothing), and until when sign-in with it is paused."""

    __tablename__ = "sign_in_throttles"

    email_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime]


class RecoveryCode(Base):
    """One of a person's one-time codes for when the authenticator is lost; stored hashed."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    used_at: Mapped[datetime | None]


class Passkey(Base):
    """A WebAuthn credential: a second factor, or a way to sign in without a password."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime | None]


class OAuthIdentity(Base):
    """An account at an identity provider (Google) linked to a person here, after they proved
    this account was theirs (its password or a passkey)."""

    __tablename__ = "oauth_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime | None]
