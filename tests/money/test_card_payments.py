"""The card page over HTTP, against localstripe: a borrower's loan payment by card applies to
the loan once Stripe's webhook confirms it, and nobody reaches another person's payment."""

import uuid
from datetime import date
from decimal import Decimal

import pytest

from app.models import Role
from app.services.money import ledger
from tests.builders import issued_loan
from tests.factories import UserFactory
from tests.stripe_peer import committed_value, wait_until

pytestmark = pytest.mark.committing  # the live server must see the loan, and we what it wrote


def _token(stripe_client, number: str = "4242424242424242"):
    card = {"number": number, "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    return stripe_client.v1.tokens.create(params={"card": card})


def _payments_on(loan_id: int) -> Decimal:
    return committed_value(
        "SELECT coalesce(sum(amount), 0) FROM payments WHERE loan_id = :loan", loan=loan_id
    )


def _card_payment_started(committed, client, login):
    """An issued loan whose borrower has asked to pay $150.00 by card (the card page next)."""
    loan, _ = issued_loan(["5000"], issued_on=date.today().replace(day=1))
    committed.commit()
    login(loan.borrower)
    started = client.post(
        f"/borrower/loans/{loan.id}/payments",
        data={"choice": "other", "amount": "150.00", "idempotency_key": uuid.uuid4().hex,
              "confirmed": "yes"},
    )  # fmt: skip
    return loan, started


def test_a_loan_payment_by_card_applies_when_stripe_confirms_it(
    committed, client, login, stripe_app
):
    loan, started = _card_payment_started(committed, client, login)
    assert started.status_code == 303, started.get_data(as_text=True)[:500]
    card_page = started.headers["Location"]
    assert card_page.startswith("/card/pi_")
    page = client.get(card_page).get_data(as_text=True)
    assert "Loan payment of $150.00" in page and "Pay $150.00" in page
    assert _payments_on(loan.id) == 0  # a started charge moves nothing

    paid = client.post(card_page, data={"card": _token(stripe_app.client).card.id})
    assert paid.status_code == 303
    assert wait_until(lambda: _payments_on(loan.id) == Decimal("150.00"))
    back = client.get(card_page)
    assert back.status_code == 303 and back.headers["Location"] == f"/borrower/loans/{loan.id}"
    committed.expire_all()
    assert ledger.verify(committed) == []
    # Paid: the page takes no second card.
    again = client.post(card_page, data={"card": _token(stripe_app.client).card.id})
    assert again.status_code == 422 and "not waiting for a card" in again.get_data(as_text=True)
    assert _payments_on(loan.id) == Decimal("150.00")


def test_nobody_reaches_another_persons_payment(committed, client, login, stripe_app):
    owner, stranger = UserFactory(role=Role.LENDER), UserFactory(role=Role.LENDER)
    committed.commit()
    login(owner)
    started = client.post(
        "/lender/deposits", data={"amount": "60.00", "idempotency_key": uuid.uuid4().hex}
    )
    card_page = started.headers["Location"]
    client.post("/logout")
    login(stranger)
    token = _token(stripe_app.client).card.id
    assert client.get(card_page).status_code == 404
    assert client.post(card_page, data={"card": token}).status_code == 404
    # A reference that does not exist looks the same as another person's.
    assert client.get("/card/pi_doesnotexist").status_code == 404
    assert client.get("/card/not-a-reference").status_code == 404
    (intent,) = stripe_app.client.v1.payment_intents.list().data
    assert intent.status == "requires_payment_method"  # the stranger's card never reached it


def test_anything_but_a_tokenised_card_is_refused_with_a_message(
    committed, client, login, stripe_app
):
    owner = UserFactory(role=Role.LENDER)
    committed.commit()
    login(owner)
    started = client.post(
        "/lender/deposits", data={"amount": "60.00", "idempotency_key": uuid.uuid4().hex}
    )
    for card in ["", "4242424242424242", "tok_visa", "card_x'; drop"]:
        answer = client.post(started.headers["Location"], data={"card": card})
        assert answer.status_code == 422, card
        assert "Enter your card details." in answer.get_data(as_text=True)
    # A NUL byte is refused before any view runs, as everywhere on the site.
    assert client.post(started.headers["Location"], data={"card": "card_\x00"}).status_code == 422
    (intent,) = stripe_app.client.v1.payment_intents.list().data
    assert intent.status == "requires_payment_method"


def test_a_provider_out_of_reach_is_a_message_not_a_500():
    from app.integrations.stripe_gateway import StripeGateway
    from app.services.money.card_payments import CardDeclined

    gateway = StripeGateway("sk_test_nobody", "http://127.0.0.1:1")  # nothing listens there
    with pytest.raises(CardDeclined, match="could not reach our payment provider"):
        gateway.pay_with_card("pi_123", "card_123")


def _refunded_cents(stripe_app, reference: str) -> int:
    """What localstripe says it gave back on the PaymentIntent's charge."""
    intent = stripe_app.client.v1.payment_intents.retrieve(reference)
    charge = intent.latest_charge
    charge_id = charge if isinstance(charge, str) else charge.id
    return stripe_app.client.v1.charges.retrieve(charge_id).amount_refunded


def test_a_card_payment_the_loan_can_no_longer_take_is_refunded(
    committed, client, login, stripe_app
):
    from app.services.servicing import repayments

    loan, started = _card_payment_started(committed, client, login)
    card_page = started.headers["Location"]
    reference = card_page.rsplit("/", 1)[-1]
    # Meanwhile the loan is paid off another way: the card's money has nowhere to go.
    payoff = repayments.payoff_amount(committed, loan, date.today()).total
    repayments.apply_payment(committed, loan.id, payoff, received_on=date.today(),
                             idempotency_key="payoff-by-transfer", payer_id=loan.borrower_id)  # fmt: skip
    committed.commit()

    paid = client.post(card_page, data={"card": _token(stripe_app.client).card.id})
    assert paid.status_code == 303
    assert wait_until(lambda: _refunded_cents(stripe_app, reference) == 15000)
    assert _payments_on(loan.id) == payoff  # the card's $150 never reached the loan
    failure = committed_value("SELECT failure FROM provider_events WHERE type = "
                              "'payment_intent.succeeded' ORDER BY received_at DESC LIMIT 1")  # fmt: skip
    assert failure == f"Loan #{loan.id} is not being repaid."
    assert wait_until(lambda: committed_value(
        "SELECT count(*) FROM notifications WHERE user_id = :user AND kind = 'payment.refunded'",
        user=loan.borrower_id) == 1)  # fmt: skip
    refunds = committed_value(
        "SELECT count(*) FROM activity_logs WHERE action = 'payment.refunded'"
    )
    assert refunds == 1
    committed.expire_all()
    assert ledger.verify(committed) == []
