"""Keeping personal data no longer than it is needed (ASVS 14.2: data retention).

An uploaded CSV file (people's details, in plaintext) is needed until its import has run; its
bytes and preview go once the import is done (the import itself drops them) or after
`import_hours` if it never is, when the batch expires. A sent email's body is needed to answer
"what did you send me?" for a while; after `email_days` only its envelope (to, subject, when,
status) is kept. Runs hourly with the other clean-ups.
"""

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import EmailMessage, ImportBatch

REMOVED = "(removed after the retention period)"


def sweep(session: Session, now: datetime, *, import_hours: int, email_days: int) -> dict:
    """Forget what has been kept long enough; how many of each were cleared."""
    stale_imports = session.execute(
        update(ImportBatch)
        .where(
            ImportBatch.created_at < now - timedelta(hours=import_hours),
            (ImportBatch.content.is_not(None)) | (ImportBatch.preview != []),
        )
        .values(content=None, preview=[])
    ).rowcount
    session.execute(
        update(ImportBatch)
        .where(ImportBatch.status == "previewed", ImportBatch.content.is_(None))
        .values(status="expired")
    )
    old_emails = session.execute(
        update(EmailMessage)
        .where(
            EmailMessage.created_at < now - timedelta(days=email_days),
            EmailMessage.text_body != REMOVED,
        )
        .values(text_body=REMOVED, html_body=REMOVED)
    ).rowcount
    return {"imports": stale_imports, "emails": old_emails}
