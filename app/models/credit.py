"""The credit facts a borrower states, shared by applications and imported outcomes."""

from sqlalchemy.orm import Mapped

from app.models.base import Money, RatePercent


class CreditFactsMixin:
    """The credit-fact columns, in form order (a snapshot taken with the application)."""

    annual_income: Mapped[Money]
    monthly_debt: Mapped[Money]
    credit_score: Mapped[int]
    credit_history_months: Mapped[int]
    revolving_balance: Mapped[Money]
    revolving_utilization: Mapped[RatePercent]
    inquiries_6m: Mapped[int]
    delinquencies_2y: Mapped[int]
    public_records: Mapped[int]


# The credit facts' names, in form order.
CREDIT_FACTS: tuple[str, ...] = tuple(CreditFactsMixin.__annotations__)
