"""Platform: the outbox, notifications and their email, the activity log, imports, reports, risk models."""
