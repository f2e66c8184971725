"""factory_boy factories bound to the test's database session."""

from datetime import date
from decimal import Decimal

import factory

from app.extensions import db
from app.models import EmploymentStatus, Loan, LoanPurpose, LoanStatus, Role, User
from app.services.accounts import passwords

_HASHES: dict[str, str] = {}


def password_hash(password: str) -> str:
    """Hash once per password per run (argon2 is slow on purpose)."""
    if password not in _HASHES:
        _HASHES[password] = passwords.hash_password(password)
    return _HASHES[password]


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password_hash = factory.LazyFunction(lambda: password_hash("correct horse battery staple 9"))
    role = Role.BORROWER
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    # Declared, so a lender's notes may total $1,000,000 (10 %): tests of the limit set less.
    net_worth = Decimal("10000000.00")


class CompleteUserFactory(UserFactory):
    phone = "+1 555 0199"
    date_of_birth = date(1985, 6, 1)
    address_line1 = "1 Main Street"
    city = "Springfield"
    state = "IL"
    postal_code = "62701"
    annual_income = Decimal("72000.00")
    employment_status = EmploymentStatus.EMPLOYED


class LoanFactory(BaseFactory):
    class Meta:
        model = Loan

    borrower = factory.SubFactory(CompleteUserFactory)
    amount = Decimal("10000.00")
    term_months = 36
    purpose = LoanPurpose.DEBT_CONSOLIDATION
    status = LoanStatus.SUBMITTED
    annual_income = Decimal("72000.00")
    monthly_debt = Decimal("900.00")
    credit_score = 712
    credit_history_months = 120
    revolving_balance = Decimal("8000.00")
    revolving_utilization = Decimal("42.000")
    inquiries_6m = 1
    delinquencies_2y = 0
    public_records = 0
