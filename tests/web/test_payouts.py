"""The payout queue through the web: a lender asks, an admin sends and settles (or refuses),
and the lender's cash page says where the money is at each step."""

import pytest

from app.extensions import db
from app.models import PayoutState, Role
from app.services.money import cash
from tests.builders import D, assert_ledger_balances, key, lender
from tests.factories import UserFactory
from tests.helpers import HX


@pytest.fixture()
def asked(client, login):
    """A lender who asked to withdraw $120.00, and the withdrawal."""
    investor = login(lender(D("500.00")))
    done = client.post(
        "/lender/withdrawals",
        data={"amount": "120.00", "idempotency_key": key(), "confirmed": "yes"},
        headers=HX,
    )
    assert done.status_code == 204, done.data[:300]
    (transfer,) = cash.payouts.recent(db.session, investor.id)
    client.get("/logout")
    return investor, transfer


def _cash_page(client, login, investor) -> str:
    login(investor)
    page = client.get("/lender/").get_data(as_text=True)
    client.get("/logout")
    return page


def test_the_lender_sees_each_step_of_a_withdrawal(client, login, asked):
    investor, transfer = asked
    assert "Waiting to be sent" in _cash_page(client, login, investor)
    admin = UserFactory(role=Role.ADMIN)
    login(admin)
    queue = client.get("/admin/payouts").get_data(as_text=True)
    assert f"#{transfer.id} · $120.00 to {investor.email}" in queue
    assert 'id="nav-payouts"' in queue

    blank = client.post(f"/admin/payouts/{transfer.id}/sent", data={"reference": " "}, headers=HX)
    assert blank.status_code == 422
    assert b"Enter the bank&#39;s reference for the transfer." in blank.data
    assert transfer.payout_state is PayoutState.REQUESTED

    sent = client.post(
        f"/admin/payouts/{transfer.id}/sent", data={"reference": "FPS 77"}, headers=HX
    )
    assert sent.status_code == 204 and sent.headers["HX-Redirect"] == "/admin/payouts"
    db.session.refresh(transfer)
    assert transfer.payout_state is PayoutState.SENT
    assert "bank reference FPS 77" in client.get("/admin/payouts").get_data(as_text=True)
    client.get("/logout")
    assert "Sent to your bank" in _cash_page(client, login, investor)

    login(admin)
    settled = client.post(f"/admin/payouts/{transfer.id}/settled", headers=HX)
    assert settled.status_code == 204
    again = client.post(f"/admin/payouts/{transfer.id}/settled", follow_redirects=True)
    assert f"Withdrawal #{transfer.id} is settled; it can" in again.get_data(as_text=True)
    client.get("/logout")
    page = _cash_page(client, login, investor)
    assert "Arrived" in page and "$380.00" in page
    assert_ledger_balances()


def test_a_refused_withdrawal_needs_a_reason_and_returns_the_cash(client, login, asked):
    investor, transfer = asked
    login(UserFactory(role=Role.ADMIN))
    no_reason = client.post(f"/admin/payouts/{transfer.id}/failed", data={}, headers=HX)
    assert no_reason.status_code == 422
    assert b"Say why the withdrawal failed" in no_reason.data
    refused = client.post(
        f"/admin/payouts/{transfer.id}/failed", data={"reason": "name does not match"}, headers=HX
    )
    assert refused.status_code == 204
    client.get("/logout")
    page = _cash_page(client, login, investor)
    assert "Came back to your cash: name does not match" in page
    assert cash.available_cash(db.session, investor.id) == D("500.00")
    assert_ledger_balances()


def test_only_admins_reach_the_payout_queue(client, login, asked):
    investor, transfer = asked
    login(investor)
    assert client.get("/admin/payouts").status_code in (403, 404)
    refused = client.post(f"/admin/payouts/{transfer.id}/sent", data={"reference": "mine"})
    assert refused.status_code in (403, 404)
    assert transfer.payout_state is PayoutState.REQUESTED


def test_a_step_on_a_withdrawal_that_is_not_waiting_is_explained(client, login):
    login(UserFactory(role=Role.ADMIN))
    gone = client.post("/admin/payouts/424242/sent", data={"reference": "R"}, follow_redirects=True)
    assert gone.status_code == 200
    assert "There is no withdrawal #424242." in gone.get_data(as_text=True)
