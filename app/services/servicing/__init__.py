"""Servicing: schedules, payments, the daily cycle, statements and what lenders earn."""
