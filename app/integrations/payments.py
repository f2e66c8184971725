"""Payment gateways: simulated (development and tests) or Stripe, chosen by configuration."""

import hashlib
from decimal import Decimal

from app.integrations.stripe_gateway import StripeGateway
from app.models import Provider
from app.services.money.payments import Charge, PaymentGateway


class SimulatedGateway:
    """For development and tests: the money is there at once."""

    provider = Provider.SIMULATED
    confirms_later = False

    def charge(self, amount: Decimal, *, metadata: dict[str, str], key: str) -> Charge:
        # One reference per key, short enough for any key (provider_ref holds 120 characters).
        return Charge(reference="sim_" + hashlib.sha256(key.encode()).hexdigest()[:40])

    def refund(self, reference: str, amount: Decimal, *, key: str) -> str:
        return "sim_re_" + hashlib.sha256(key.encode()).hexdigest()[:37]


class NoGateway(RuntimeError):
    """Production without Stripe: no money may be taken, and none credited."""


def gateway_for(config) -> PaymentGateway:
    """Stripe when keys are set, otherwise the simulated gateway (never in production)."""
    if config.get("STRIPE_SECRET_KEY"):
        return StripeGateway(config["STRIPE_SECRET_KEY"], config.get("STRIPE_API_BASE"))
    if config.get("APP_ENV") == "production":
        raise NoGateway("Production has no simulated payments: set STRIPE_SECRET_KEY.")
    return SimulatedGateway()
