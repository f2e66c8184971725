"""Domain services: plain Python on a SQLAlchemy session, no Flask; callers own the transaction."""
