"""Data migrations carry real rows across: run on a database of their own, step by step."""

import os

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from app import create_app
from config import TestConfig
from tests.database import recreate_database as _recreate_database

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")
URL = TestConfig.SQLALCHEMY_DATABASE_URI + "_migrations"  # beside the test database

OLD_LINKS = {
    "/borrower/applications/7": ("borrower.application_show", {"loan_id": 7}),
    "/borrower/loans/12": ("borrower.loan_show", {"loan_id": 12}),
    "/password/reset/abc.def-ghi": ("auth.password_reset_form", {"token": "abc.def-ghi"}),
    "/account/documents": ("auth.document_index", {}),
    "/account": ("auth.profile_show", {}),
    "/lender/": ("lender.dashboard", {}),
    "https://elsewhere.example/x": (None, None),
}


class MigrationConfig(TestConfig):
    SQLALCHEMY_DATABASE_URI = URL


@pytest.fixture()
def migration_app(app):
    _recreate_database(URL)
    other = create_app(MigrationConfig)
    engine = create_engine(URL)
    yield other, engine
    engine.dispose()


def test_notification_links_become_endpoints_and_back(migration_app):
    other, engine = migration_app
    with other.app_context():
        upgrade(directory=MIGRATIONS, revision="0003")
    with engine.begin() as connection:
        user = connection.execute(
            text(
                "INSERT INTO users (email, password_hash, role, first_name, last_name) "
                "VALUES ('m@example.com', 'x', 'borrower', 'M', 'N') RETURNING id"
            )
        ).scalar_one()
        for number, link in enumerate(OLD_LINKS):
            connection.execute(
                text(
                    "INSERT INTO notifications (user_id, kind, title, body, link, created_at) "
                    "VALUES (:user, 'k', :title, 'b', :link, now())"
                ),
                {"user": user, "title": f"n{number}", "link": link},
            )
    with other.app_context():
        upgrade(directory=MIGRATIONS, revision="0004")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT title, link_endpoint, link_args FROM notifications ORDER BY id")
        ).all()
    assert [(endpoint, args) for _, endpoint, args in rows] == list(OLD_LINKS.values())
    with other.app_context():
        downgrade(directory=MIGRATIONS, revision="0003")
    with engine.connect() as connection:
        links = connection.execute(text("SELECT link FROM notifications ORDER BY id")).scalars()
        assert list(links) == [*list(OLD_LINKS)[:-1], None]


def test_reset_links_stored_by_earlier_versions_are_forgotten(migration_app):
    """0009: the tokens old reset notifications and their emails kept are gone (hole 1)."""
    other, engine = migration_app
    with other.app_context():
        upgrade(directory=MIGRATIONS, revision="0008")
    token = "eyJpZCI6MX0.old-token.signature"
    with engine.begin() as connection:
        user = connection.execute(
            text(
                "INSERT INTO users (email, password_hash, role, first_name, last_name) "
                "VALUES ('r@example.com', 'x', 'lender', 'R', 'S') RETURNING id"
            )
        ).scalar_one()
        notices = [
            connection.execute(
                text(
                    "INSERT INTO notifications (user_id, kind, title, body, link_endpoint, "
                    "link_args, created_at) VALUES (:user, :kind, 't', 'b', :endpoint, "
                    "CAST(:args AS jsonb), now()) RETURNING id"
                ),
                {"user": user, "kind": kind, "endpoint": endpoint, "args": args},
            ).scalar_one()
            for kind, endpoint, args in (
                ("auth.password_reset", "auth.password_reset_form", f'{{"token": "{token}"}}'),
                ("loan.offered", "borrower.application_show", '{"loan_id": 7}'),
            )
        ]
        for notice in notices:
            connection.execute(
                text(
                    "INSERT INTO email_messages (notification_id, to_address, subject, "
                    "text_body, html_body, status, attempts, created_at) VALUES (:id, "
                    "'r@example.com', 's', :body, :body, 'sent', 1, now())"
                ),
                {
                    "id": notice,
                    "body": f"Open https://x.example/password/reset/{token}"
                    if notice == notices[0]
                    else "Your offer: https://x.example/borrower/7",
                },
            )
    with other.app_context():
        upgrade(directory=MIGRATIONS, revision="0009")
    with engine.connect() as connection:
        everything = connection.execute(
            text(
                "SELECT string_agg(concat_ws(' ', n.link_endpoint, n.link_args, e.text_body, "
                "e.html_body), ' ') FROM notifications n JOIN email_messages e "
                "ON e.notification_id = n.id"
            )
        ).scalar_one()
        kept = connection.execute(
            text("SELECT link_args FROM notifications WHERE kind = 'loan.offered'")
        ).scalar_one()
    assert token not in everything and "password/reset" not in everything
    assert "Your offer: https://x.example/borrower/7" in everything and kept == {"loan_id": 7}
