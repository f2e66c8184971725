"""Platform: the outbox, notifications, the activity log, imports, reports and risk models."""
