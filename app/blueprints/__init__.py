"""Blueprints, one per audience, plus the health check, the card page and the payment
provider's webhooks."""

from app.blueprints import admin, api, auth, borrower, card, health, lender, webhooks  # noqa: F401

# The API blueprint is registered through flask-smorest (app.register_blueprints), for its OpenAPI.
ALL_BLUEPRINTS = [auth.bp, borrower.bp, lender.bp, admin.bp, health.bp, card.bp, webhooks.bp]
