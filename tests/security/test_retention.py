"""Retention: uploaded CSV files and sent email bodies are not kept past their time."""

from datetime import UTC, datetime, timedelta

from app.background import jobs
from app.extensions import db
from app.models import EmailMessage, ImportBatch
from app.services.platform import retention

CSV = b"email,phone,date_of_birth\nmia@example.com,+1 555 0100,1980-01-01\n"


def _batch(age: timedelta, status="previewed") -> ImportBatch:
    batch = ImportBatch(
        kind="users",
        filename="people.csv",
        sha256=str(age.total_seconds()).ljust(64, "0")[:64],
        status=status,
        content=CSV,
        preview=[{"email": "mia@example.com", "phone": "+1 555 0100"}],
        created_at=datetime.now(UTC) - age,
    )
    db.session.add(batch)
    return batch


def _email(age: timedelta) -> EmailMessage:
    message = EmailMessage(
        to_address="mia@example.com",
        subject="Your loan is funded",
        text_body="Hello Mia, your loan #7 of $9,000.00 is funded.",
        html_body="<p>Hello Mia</p>",
        status="sent",
        attempts=1,
        created_at=datetime.now(UTC) - age,
    )
    db.session.add(message)
    return message


def test_old_files_and_bodies_go_recent_ones_stay(app):
    old_batch, new_batch = _batch(timedelta(hours=25)), _batch(timedelta(hours=1))
    old_mail, new_mail = _email(timedelta(days=31)), _email(timedelta(days=2))
    db.session.flush()
    jobs.HANDLERS["expire_listings"]({})  # the hourly clean-up runs it
    db.session.flush()
    for row in (old_batch, new_batch, old_mail, new_mail):
        db.session.refresh(row)
    assert old_batch.content is None and old_batch.preview == [] and old_batch.status == "expired"
    assert new_batch.content == CSV and new_batch.preview and new_batch.status == "previewed"
    assert old_mail.text_body == retention.REMOVED and "Mia" not in old_mail.html_body
    assert old_mail.subject == "Your loan is funded"  # the envelope stays
    assert new_mail.text_body.startswith("Hello Mia")
    again = retention.sweep(db.session, datetime.now(UTC), import_hours=24, email_days=30)
    assert again == {"imports": 0, "emails": 0}
