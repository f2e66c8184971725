"""SMTP: one message, plain text with an HTML alternative, over a fresh connection."""

import smtplib
from email.message import EmailMessage

from app.services.platform.emails import NotSent


class SmtpMailer:
    """Sends through one SMTP server; a refusal or a dead server is NotSent (the outbox retries)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username=None,
        password=None,
        use_tls: bool = False,
        timeout: float = 10,
    ):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.use_tls, self.timeout = (
            username,
            password,
            use_tls,
            timeout,
        )

    def send(
        self, to: str, subject: str, text: str, html: str, *, message_id: str | None = None
    ) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        if message_id:
            message["Message-ID"] = message_id
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.use_tls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise NotSent(str(error)) from error


def mailer_for(config) -> SmtpMailer | None:
    """The configured SMTP server, or None (development: mail is kept for the admin outbox)."""
    if not config.get("SMTP_HOST"):
        return None
    return SmtpMailer(
        config["SMTP_HOST"],
        config["SMTP_PORT"],
        sender=config["MAIL_FROM"],
        username=config["SMTP_USERNAME"],
        password=config["SMTP_PASSWORD"],
        use_tls=config["SMTP_USE_TLS"],
    )
