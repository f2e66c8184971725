"""Blueprints, one per audience."""

from app import health, webhooks
from app.blueprints import admin, api, auth, borrower, lender

ALL_BLUEPRINTS = [auth.bp, borrower.bp, lender.bp, admin.bp, api.bp, health.bp, webhooks.bp]
