"""Accounts: people, passwords, API tokens, identity documents and password resets."""
