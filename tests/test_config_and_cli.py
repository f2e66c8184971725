"""Production refuses unsafe settings; admins come only from the CLI; demo data seeds."""

import inspect

import pytest
from sqlalchemy import func, select

from app import create_app, refuse_demo_accounts
from app.extensions import db
from app.models import Loan, LoanStatus, Role, User
from app.services.money import ledger
from config import DEMO_EMAIL_DOMAIN, ProductionConfig, TestConfig
from seeds import run as seed_demo
from seeds.demo import DEMO_PEOPLE

STRONG_SECRET = "k" * 48


def _production(monkeypatch, **attrs):
    url = TestConfig.SQLALCHEMY_DATABASE_URI
    monkeypatch.setenv("DATABASE_URL", url)
    for name, value in {
        "SECRET_KEY": STRONG_SECRET,
        "DEBUG": False,
        "SEED_DEMO_DATA": False,
        "SQLALCHEMY_DATABASE_URI": url,
        **attrs,
    }.items():
        monkeypatch.setattr(ProductionConfig, name, value)
    return ProductionConfig


def test_production_refuses_the_default_secret_key(monkeypatch):
    config = _production(monkeypatch, SECRET_KEY="dev-only-not-secret")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)


def test_production_refuses_debug(monkeypatch):
    with pytest.raises(RuntimeError, match="FLASK_DEBUG"):
        create_app(_production(monkeypatch, DEBUG=True))


def test_production_refuses_demo_data_flag(monkeypatch):
    with pytest.raises(RuntimeError, match="SEED_DEMO_DATA"):
        create_app(_production(monkeypatch, SEED_DEMO_DATA=True))


def test_production_cookie_is_secure_and_host_prefixed():
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_NAME == "__Host-session"


def test_production_refuses_a_database_with_demo_accounts(app):
    refuse_demo_accounts(app)  # no demo people yet: nothing to refuse
    db.session.add(
        User(
            email=f"someone@{DEMO_EMAIL_DOMAIN}",
            password_hash="x",
            role=Role.LENDER,
            first_name="Demo",
            last_name="Person",
        )
    )
    db.session.flush()
    with pytest.raises(RuntimeError, match="demo account"):
        refuse_demo_accounts(app)


def test_production_checks_for_demo_accounts_at_start():
    source = inspect.getsource(create_app)
    assert 'if app.config["APP_ENV"] == "production":\n        refuse_demo_accounts(app)' in source


def test_there_is_no_admin_until_the_cli_creates_one(app):
    assert (
        db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN))
        == 0
    )


def test_create_admin_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--email",
            "Root@Example.com",
            "--first-name",
            "Ops",
            "--last-name",
            "Lead",
        ],
        env={"ADMIN_PASSWORD": "granite falcon orbit 63"},
    )
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(User).where(User.email == "root@example.com"))
    assert admin.role is Role.ADMIN


def test_create_admin_cli_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create-admin",
            "--email",
            "ops@example.com",
            "--first-name",
            "Ops",
            "--last-name",
            "Lead",
        ],
        env={"ADMIN_PASSWORD": "password1"},
    )
    assert result.exit_code != 0
    assert "password" in result.output
    assert db.session.scalar(select(User).where(User.email == "ops@example.com")) is None


def test_seed_creates_demo_people_whose_logins_work(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SEED_DEMO_DATA", True)
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    for person in DEMO_PEOPLE:
        assert person["email"] in result.output and person["password"] in result.output
        response = client.post(
            "/login", data={"email": person["email"], "password": person["password"]}
        )
        assert response.status_code == 303
        client.post("/logout")
    people = db.session.scalar(select(func.count()).select_from(User))
    loans = db.session.scalar(select(func.count()).select_from(Loan))
    again = app.test_cli_runner().invoke(args=["seed"])
    assert again.exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == people
    assert db.session.scalar(select(func.count()).select_from(Loan)) == loans


def test_demo_loans_cover_every_state_and_the_ledger_balances(app):
    seed_demo(db.session)
    states = {
        (loan.status.value, loan.servicing_status.value if loan.servicing_status else None)
        for loan in db.session.scalars(select(Loan))
    }
    assert {"offered", "pending_approval", "listed", "expired"} <= {s for s, _ in states}
    assert {
        "current",
        "grace",
        "late_16_30",
        "late_31_120",
        "default",
        "charged_off",
        "paid_off",
    } <= {servicing for _, servicing in states}
    listed = db.session.scalars(select(Loan).where(Loan.status == LoanStatus.LISTED)).one()
    assert 0 < listed.funded_amount < listed.amount
    assert ledger.verify(db.session) == []


def test_seed_refuses_when_demo_data_is_off(app):
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code != 0
    assert "disabled" in result.output


def test_cycle_cli_runs_one_business_date_once(app):
    first = app.test_cli_runner().invoke(args=["jobs", "cycle", "--date", "2024-03-01"])
    again = app.test_cli_runner().invoke(args=["jobs", "cycle", "--date", "2024-03-01"])
    assert first.exit_code == 0 and "2024-03-01" in first.output
    assert again.output == first.output
