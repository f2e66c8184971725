"""Demo people: a borrower, a lender and an admin, with complete profiles."""

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import EmploymentStatus, Role, User
from app.services.accounts import accounts
from config import DEMO_EMAIL_DOMAIN
from seeds import loans

DEMO_PEOPLE = (
    {
        "role": Role.BORROWER,
        "email": f"borrower@{DEMO_EMAIL_DOMAIN}",
        "password": "plum tractor velvet 42",
        "first_name": "Bea",
        "last_name": "Borrower",
        "profile": {
            "phone": "+1 555 0100",
            "date_of_birth": date(1988, 4, 12),
            "address_line1": "12 Orchard Lane",
            "city": "Portland",
            "state": "OR",
            "postal_code": "97201",
            "annual_income": Decimal("68000.00"),
            "employment_status": EmploymentStatus.EMPLOYED,
        },
    },
    {
        "role": Role.LENDER,
        "email": f"lender@{DEMO_EMAIL_DOMAIN}",
        "password": "copper lantern meadow 17",
        "first_name": "Leo",
        "last_name": "Lender",
        "profile": {
            "phone": "+1 555 0101",
            "date_of_birth": date(1975, 9, 30),
            "address_line1": "400 Harbor Street",
            "city": "Seattle",
            "state": "WA",
            "postal_code": "98101",
            "annual_income": Decimal("142000.00"),
            "net_worth": Decimal("900000.00"),
            "employment_status": EmploymentStatus.SELF_EMPLOYED,
        },
    },
    {
        "role": Role.ADMIN,
        "email": f"admin@{DEMO_EMAIL_DOMAIN}",
        "password": "granite falcon orbit 63",
        "first_name": "Ada",
        "last_name": "Admin",
        "profile": {},
    },
)


def run(session: Session) -> list[str]:
    """Create the demo people if missing, commit, and return lines describing the logins."""
    lines = ["Demo logins (development only):"]
    for person in DEMO_PEOPLE:
        user = session.scalar(select(User).where(User.email == person["email"]))
        if user is None:
            user = _create(session, person)
        lines.append(f"  {person['role'].value:<8} {person['email']:<36} {person['password']}")
    session.commit()
    return lines + loans.run(session)


def _create(session: Session, person: dict) -> User:
    names = {"first_name": person["first_name"], "last_name": person["last_name"]}
    if person["role"] is Role.ADMIN:
        user = accounts.create_admin(session, person["email"], person["password"], **names)
    else:
        user = accounts.register(
            session,
            email=person["email"],
            password=person["password"],
            role=person["role"],
            **names,
        )
    if person["profile"]:
        accounts.update_profile(session, user, person["profile"], accounts.ClientInfo())
    return user
