"""Every model, imported here so Alembic autogenerate sees the whole schema."""

from app.models.activity import ActivityLog, EmailMessage, Notification
from app.models.base import Base
from app.models.credit import CREDIT_FACTS, CreditFactsMixin
from app.models.document import Document, DocumentKind
from app.models.investment import Investment, InvestmentStatus, LenderPreference, RiskTolerance
from app.models.ledger import AccountKind, JournalEntry, LedgerAccount, NormalSide, Posting
from app.models.loan import (
    APPLICATION_LIMITS,
    Installment,
    InstallmentStatus,
    Loan,
    LoanApproval,
    LoanPurpose,
    LoanStatus,
    ServicingStatus,
)
from app.models.operations import (
    IdempotencyKey,
    ImportBatch,
    OutboxMessage,
    OutboxStatus,
    ServicingRun,
)
from app.models.payment import (
    CashTransfer,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Provider,
    ProviderEvent,
    TransferDirection,
)
from app.models.risk import HistoricalOutcome, RiskAssessment, RiskModel
from app.models.user import (
    ApiToken,
    CreditScoreSource,
    EmploymentStatus,
    OAuthIdentity,
    Passkey,
    PendingRegistration,
    RecoveryCode,
    Role,
    SignInThrottle,
    User,
    UserSession,
    VerificationStatus,
)

__all__ = [
    "APPLICATION_LIMITS",
    "CREDIT_FACTS",
    "AccountKind",
    "ActivityLog",
    "ApiToken",
    "Base",
    "CashTransfer",
    "CreditFactsMixin",
    "Document",
    "DocumentKind",
    "HistoricalOutcome",
    "EmailMessage",
    "CreditScoreSource",
    "EmploymentStatus",
    "IdempotencyKey",
    "ImportBatch",
    "Installment",
    "InstallmentStatus",
    "Investment",
    "InvestmentStatus",
    "JournalEntry",
    "LedgerAccount",
    "LenderPreference",
    "Loan",
    "LoanApproval",
    "LoanPurpose",
    "LoanStatus",
    "NormalSide",
    "Notification",
    "OutboxMessage",
    "OutboxStatus",
    "Payment",
    "PaymentAllocation",
    "PaymentStatus",
    "Posting",
    "Provider",
    "ProviderEvent",
    "RiskAssessment",
    "RiskModel",
    "RiskTolerance",
    "Role",
    "SignInThrottle",
    "ServicingRun",
    "ServicingStatus",
    "TransferDirection",
    "OAuthIdentity",
    "Passkey",
    "PendingRegistration",
    "RecoveryCode",
    "User",
    "UserSession",
    "VerificationStatus",
]
