"""Lending: applying, scoring, reviewing, issuing, and lenders buying notes in listed loans."""
