"""Notification emails go through a real SMTP server (aiosmtpd), with retries when it is down."""

from sqlalchemy import select

from app.background import jobs
from app.extensions import db
from app.links import notification_url
from app.models import EmailMessage, OutboxMessage, OutboxStatus, Role
from app.services.platform import notifications
from tests.factories import UserFactory
from tests.mailbox import free_port


def _notify(user):
    return notifications.notify(
        db.session,
        user.id,
        "loan.offered",
        "Your loan offer is ready",
        "Grade B2 at 12.25% for $9,000.00.",
        link=("borrower.application_show", {"loan_id": 7}),
    )


def test_a_notification_is_emailed_in_html_and_plain_text(smtp):
    user = UserFactory(role=Role.BORROWER, email="mia@example.com", first_name="Mia")
    _notify(user)
    jobs.relay()
    ((recipients, message),) = smtp.messages
    assert recipients == ["mia@example.com"]
    assert message["Subject"] == "CommunityLend: Your loan offer is ready"
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert "Hello Mia" in parts["text/plain"] and "Grade B2" in parts["text/plain"]
    assert 'href="http://127.0.0.1:5000/borrower/applications/7"' in parts["text/html"]
    assert db.session.scalars(select(EmailMessage.status)).one() == "sent"


def test_email_links_are_absolute_under_the_public_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://lend.example/app")
    notification = _notify(UserFactory(role=Role.BORROWER))
    url = notification_url(notification, external=True)
    assert url == "https://lend.example/app/borrower/applications/7"


def test_smtp_down_retries_without_losing_or_doubling_the_email(app, smtp, monkeypatch):
    user = UserFactory(role=Role.BORROWER)
    _notify(user)
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nothing listens there
    jobs.relay()
    job = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "send_email")).one()
    assert job.status is OutboxStatus.PENDING and job.attempts == 1 and job.last_error
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
    job.available_at = job.created_at
    db.session.flush()
    jobs.relay()
    assert job.status is OutboxStatus.DONE and len(smtp.messages) == 1
    assert jobs.run_outbox_message(job.id) == "skipped"
    assert len(smtp.messages) == 1


def test_emails_can_be_switched_off(app, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "ENABLE_EMAIL_NOTIFICATIONS", False)
    _notify(UserFactory(role=Role.BORROWER))
    jobs.relay()
    assert smtp.messages == [] and db.session.scalars(select(EmailMessage)).all() == []


def test_without_smtp_emails_are_captured_for_the_outbox_page(app, monkeypatch, no_redis):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    _notify(UserFactory(role=Role.BORROWER))
    jobs.relay()
    assert db.session.scalars(select(EmailMessage.status)).one() == "captured"


def test_switching_emails_off_does_not_silence_a_password_reset_link(
    app, smtp, client, monkeypatch
):
    monkeypatch.setitem(app.config, "ENABLE_EMAIL_NOTIFICATIONS", False)
    user = UserFactory(role=Role.LENDER)
    client.post("/password/forgot", data={"email": user.email})
    jobs.relay()
    ((recipients, message),) = smtp.messages
    assert recipients == [user.email]
    assert "/password/reset?token=" in smtp.text_of()


def test_a_dedupe_key_tells_once_and_emails_once():
    user = UserFactory(role=Role.LENDER)
    first = notifications.notify(
        db.session, user.id, "loan.issued", "Funded", "First words.", dedupe_key="once-1"
    )
    again = notifications.notify(
        db.session, user.id, "loan.issued", "Funded", "Other words.", dedupe_key="once-1"
    )
    assert again.id == first.id and again.body == "First words."
    emails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"email-{first.id}")
    ).all()
    assert len(emails) == 1
    other = notifications.notify(db.session, user.id, "loan.issued", "Funded", "No key.")
    assert other.id != first.id and other.created_at is not None and other.read_at is None
