"""Money: the double-entry ledger, lender cash, cents, idempotent requests and the payment gateway."""
