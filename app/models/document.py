"""Identity and income documents uploaded by users."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, str_enum
from app.models.user import VerificationStatus


class DocumentKind(enum.StrEnum):
    IDENTITY = "identity"
    INCOME = "income"
    ADDRESS = "address"
    OTHER = "other"


class Document(TimestampMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("size_bytes > 0", name="size_positive"),
        Index("ix_documents_user_id_kind", "user_id", "kind"),
        Index("ix_documents_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    loan_id: Mapped[int | None] = mapped_column(
        ForeignKey("loans.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, "document_kind"))
    original_filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    # The bytes, sealed (AES-GCM): in the database, where every node reads them. Documents
    # uploaded before this column live sealed in UPLOAD_FOLDER under stored_name until
    # `flask ops move-documents` brings them in.
    sealed_content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[VerificationStatus] = mapped_column(
        str_enum(VerificationStatus, "document_status"), default=VerificationStatus.PENDING
    )
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[datetime | None]
