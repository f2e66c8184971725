"""Statements and tax documents: figures for every user of a period at once (set-based SQL over
the ledger), checked, stored with their CSV, announced; the PDF drawn on first download."""
