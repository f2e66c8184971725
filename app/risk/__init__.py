"""Risk engine (no Flask): features, training, calibrated PD, grades, pricing, reasons, registry."""
