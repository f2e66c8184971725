"""The secondary market: lenders sell whole notes to each other (see docs/secondary-market.md)."""
