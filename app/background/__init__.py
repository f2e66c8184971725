"""Background work: job functions the outbox relay hands to RQ, the schedule, email bodies."""
