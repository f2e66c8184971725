"""Risk engine (no Flask): features, training, scoring. Built in the risk-engine issue."""
