"""Money: the double-entry ledger, lender cash, cent arithmetic and idempotent requests."""
