"""Blueprints, one per audience."""

from app import health, webhooks
from app.blueprints import admin, api, auth, borrower, lender  # noqa: F401 - api: see below

# The API blueprint is registered through flask-smorest (app.register_blueprints), for its OpenAPI.
ALL_BLUEPRINTS = [auth.bp, borrower.bp, lender.bp, admin.bp, health.bp, webhooks.bp]
