"""Payment providers: simulated (money arrives at once) or Stripe (a PaymentIntent; the webhook
applies it). Views call provider_for(config).pay_loan(...)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import stripe

from app.models import Loan, Payment, Provider
from app.services.money import cash
from app.services.servicing import repayments


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment | None  # None while the provider has not confirmed
    message: str
    client_secret: str | None = None


class SimulatedProvider:
    """For development and tests: the charge succeeds immediately."""

    def pay_loan(
        self, session, loan: Loan, amount: Decimal, *, payer_id: int, key: str, today: date, policy
    ) -> PaymentResult:
        payment = repayments.apply_payment(
            session,
            loan.id,
            amount,
            received_on=today,
            idempotency_key=key,
            payer_id=payer_id,
            provider=Provider.SIMULATED,
            provider_ref=f"sim_{key}",
            policy=policy,
        )
        return PaymentResult(payment, f"Payment of ${amount:,.2f} received. Thank you.")

    def deposit(self, session, user_id: int, amount: Decimal, *, key: str) -> str:
        cash.deposit(
            session,
            user_id,
            amount,
            provider=Provider.SIMULATED,
            provider_ref=f"sim_{key}",
            idempotency_key=key,
        )
        return f"${amount:,.2f} added to your available cash."


class StripeProvider:
    """A PaymentIntent per request (the key makes retries safe); the webhook applies it."""

    def __init__(self, secret_key: str):
        self.client = stripe.StripeClient(secret_key)

    def pay_loan(
        self, session, loan: Loan, amount: Decimal, *, payer_id: int, key: str, today: date, policy
    ) -> PaymentResult:
        repayments.check_payable(session, loan, amount, today)
        intent = self.client.v1.payment_intents.create(
            params={
                "amount": int(amount * 100),
                "currency": "usd",
                "automatic_payment_methods": {"enabled": True},
                "metadata": {
                    "kind": "loan_payment",
                    "loan_id": str(loan.id),
                    "payer_id": str(payer_id),
                    "idempotency_key": key,
                },
            },
            options={"idempotency_key": f"loan-payment-{key}"},
        )
        return PaymentResult(
            None,
            "Payment started; it applies to your loan when your bank confirms it.",
            intent.client_secret,
        )


def provider_for(config) -> SimulatedProvider | StripeProvider:
    """Stripe when keys are set, otherwise the simulated provider."""
    if config.get("STRIPE_SECRET_KEY"):
        return StripeProvider(config["STRIPE_SECRET_KEY"])
    return SimulatedProvider()
