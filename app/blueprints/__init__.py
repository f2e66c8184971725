"""Blueprints, one per audience, plus the health check, the card page and the payment
provider's webhooks."""

from app.blueprints import (  # noqa: F401
    admin,
    api,
    auth,
    borrower,
    card,
    health,
    lender,
    metrics,
    webhooks,
)

# The API blueprint is registered through flask-smorest (app.register_blueprints), for its OpenAPI.
ALL_BLUEPRINTS = [
    auth.bp,
    borrower.bp,
    lender.bp,
    admin.bp,
    health.bp,
    metrics.bp,
    card.bp,
    webhooks.bp,
]
