"""The lender journey through the test client: cash, marketplace, detail, investing, portfolio."""

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Investment, LenderPreference, Provider, Role, User, VerificationStatus
from app.services.money import cash, ledger
from app.services.servicing import portfolio
from tests.builders import issued_loan, key, lender, listed_loan
from tests.factories import UserFactory
from tests.helpers import HX

D = Decimal


@pytest.fixture()
def investor(login):
    return login(lender(D("1000")))


def _invest(client, loan, amount="100", request_key=None, row=False):
    url = f"/lender/loans/{loan.id}/investments" + ("?from=row" if row else "")
    return client.post(
        url,
        data={"amount": amount, "idempotency_key": request_key or str(uuid.uuid4())},
        headers=HX,
    )


def test_cash_page_deposit_and_withdraw(client, investor):
    page = client.get("/lender/")
    assert page.status_code == 200 and b"$1,000.00" in page.data
    assert client.get("/lender/balance", headers=HX).status_code == 200
    deposit = client.post(
        "/lender/deposits", data={"amount": "250.00", "idempotency_key": key()}, headers=HX
    )
    assert deposit.status_code == 204
    assert cash.available_cash(db.session, investor.id) == D("1250.00")
    too_much = client.post(
        "/lender/withdrawals", data={"amount": "5000", "idempotency_key": key()}, headers=HX
    )
    assert too_much.status_code == 422 and b"at most $1,250.00" in too_much.data
    withdraw_key = key()
    asked = client.post(
        "/lender/withdrawals",
        data={"amount": "50", "idempotency_key": withdraw_key},
        headers={**HX, "HX-Trigger": "withdraw-form"},
    )
    # First the confirmation step, in the page's confirmation region; nothing has moved yet.
    assert asked.status_code == 200 and asked.headers["HX-Retarget"] == "#confirm-step"
    assert b"Withdraw $50.00 to your bank?" in asked.data and b"$1,200.00" in asked.data
    assert b'form="withdraw-form" name="confirmed" value="yes"' in asked.data
    assert cash.available_cash(db.session, investor.id) == D("1250.00")
    for _ in range(2):
        client.post(
            "/lender/withdrawals",
            data={"amount": "50", "idempotency_key": withdraw_key, "confirmed": "yes"},
            headers=HX,
        )
    assert cash.available_cash(db.session, investor.id) == D("1200.00")
    bad = client.post(
        "/lender/deposits", data={"amount": "-3", "idempotency_key": key()}, headers=HX
    )
    assert bad.status_code == 422
    assert ledger.verify(db.session) == []


def test_marketplace_filters_sorts_and_pages(client, investor):
    now = datetime.now(UTC)
    small = listed_loan("1500.00", rate="7.49", term=36, now=now - timedelta(days=1))
    big = listed_loan("20000.00", rate="18.25", term=60, now=now)
    small.risk_grade, big.risk_grade = "A2", "D2"
    db.session.flush()
    page = client.get("/lender/loans")
    assert page.status_code == 200 and b"<html" in page.data and b"2 loans" in page.data
    fragment = client.get("/lender/loans?grade=A", headers=HX)
    assert (
        b"<html" not in fragment.data
        and b"1 loan open" in fragment.data
        and b"7.49%" in fragment.data
    )
    assert b"1 loan open" in client.get("/lender/loans?term=60&min_rate=15", headers=HX).data
    assert b"0 loans" in client.get("/lender/loans?max_amount=1000", headers=HX).data
    assert b"0 loans" in client.get("/lender/loans?verified=1", headers=HX).data
    borrower = db.session.get(User, small.borrower_id)
    borrower.identity_status = VerificationStatus.VERIFIED
    db.session.flush()
    assert b"1 loan open" in client.get("/lender/loans?verified=1", headers=HX).data
    by_rate = client.get("/lender/loans?sort=rate", headers=HX).get_data(as_text=True)
    assert by_rate.index("18.25%") < by_rate.index("7.49%")
    junk = client.get("/lender/loans?min_amount=abc&grade=Z&sort=drop&page=-1", headers=HX)
    assert junk.status_code == 200 and b"2 loans" in junk.data


def test_loan_detail_shows_risk_but_not_the_borrower(client, investor):
    loan = listed_loan("5000.00")
    borrower = db.session.get(User, loan.borrower_id)
    body = client.get(f"/lender/loans/{loan.id}").get_data(as_text=True)
    assert (
        "Probability of default" in body and "Debt-to-income" in body and "Payment schedule" in body
    )
    for private in (borrower.email, borrower.first_name, borrower.last_name, borrower.phone):
        assert private not in body
    assert client.get(f"/lender/loans/{loan.id}/progress", headers=HX).status_code == 200


def test_the_funding_bar_polls_until_the_loan_is_fully_funded(client, investor):
    loan = listed_loan("1000.00")
    url = f"/lender/loans/{loan.id}/progress"
    page = client.get(f"/lender/loans/{loan.id}").get_data(as_text=True)
    assert f'hx-get="{url}" hx-trigger="every 5s' in page
    polling = client.get(url, headers=HX)
    assert polling.status_code == 200 and "every 5s" in polling.get_data(as_text=True)
    order = {"amount": "1000.00", "idempotency_key": key()}
    asked = client.post(f"/lender/loans/{loan.id}/investments", data=order, headers=HX)
    assert asked.status_code == 200 and b"Invest $1,000.00 in loan" in asked.data
    assert client.get(url, headers=HX).status_code == 200  # nothing bought yet: still polling
    bought = client.post(
        f"/lender/loans/{loan.id}/investments", data={**order, "confirmed": "yes"}, headers=HX
    )
    assert bought.status_code == 200 and b"You invested $1,000.00" in bought.data
    final = client.get(url, headers=HX)
    assert final.status_code == 286  # htmx stops an `every 5s` poll on 286
    body = final.get_data(as_text=True)
    assert "hx-trigger" not in body and "$1,000.00" in body
    assert "every 5s" not in client.get(f"/lender/loans/{loan.id}").get_data(as_text=True)


def test_investing_updates_funding_and_balance_through_events(client, investor):
    loan = listed_loan("1000.00")
    response = _invest(client, loan, "100")
    assert response.status_code == 200 and b"You invested $100.00" in response.data
    events = json.loads(response.headers["HX-Trigger"])
    assert events["balance-changed"] is True and events["loan-funded"] == {"loan_id": loan.id}
    assert cash.available_cash(db.session, investor.id) == D("900.00")


def test_investments_above_500_dollars_are_confirmed_first_and_smaller_ones_are_not(
    client, investor
):
    loan = listed_loan("2000.00")
    loan.title = "New roof"
    small = _invest(client, loan, "500")  # at the threshold: no question asked
    assert small.status_code == 200 and b"You invested $500.00" in small.data
    cash.deposit(
        db.session, investor.id, D("250"), provider=Provider.SIMULATED, idempotency_key=key()
    )
    order = {"amount": "525", "idempotency_key": key()}
    headers = {**HX, "HX-Trigger": f"invest-{loan.id}"}
    asked = client.post(
        f"/lender/loans/{loan.id}/investments?from=row", data=order, headers=headers
    )
    text = asked.get_data(as_text=True)
    assert asked.headers["HX-Retarget"] == "#confirm-step"
    assert f"Invest $525.00 in loan #{loan.id} New roof?" in text
    assert "<dt>Cash left to invest</dt><dd>$225.00</dd>" in text
    assert f'form="invest-{loan.id}" name="confirmed" value="yes"' in text
    assert cash.available_cash(db.session, investor.id) == D("750.00")
    # More than the cash left: no confirmation, the service's refusal.
    refused = client.post(
        f"/lender/loans/{loan.id}/investments", data={**order, "amount": "800"}, headers=HX
    )
    assert refused.status_code == 422 and b"HX-Retarget" not in refused.data


def _key_in(body: bytes) -> str:
    return re.search(rb'name="idempotency_key"[^>]*value="([^"]+)"', body).group(1).decode()


@pytest.mark.parametrize("where", ["detail", "row"])
def test_the_form_after_an_investment_invests_again(client, investor, where):
    """The form that comes back carries a new key: a second $25 is a second note."""
    loan = listed_loan("1000.00")
    url = f"/lender/loans/{loan.id}/investments" + ("?from=row" if where == "row" else "")
    first_key = key()
    first = client.post(url, data={"amount": "25", "idempotency_key": first_key}, headers=HX)
    assert first.status_code == 200
    second_key = _key_in(first.data)
    assert second_key != first_key
    second = client.post(url, data={"amount": "25", "idempotency_key": second_key}, headers=HX)
    assert second.status_code == 200
    assert cash.available_cash(db.session, investor.id) == D("950.00")
    notes = select(func.count()).select_from(Investment).where(Investment.loan_id == loan.id)
    assert db.session.scalar(notes) == 2


@pytest.mark.parametrize(
    ("amount", "message"), [("30", b"not a multiple of $25"), ("2000", b"Insufficient cash")]
)
def test_investment_errors_are_422_fragments(client, investor, amount, message):
    loan = listed_loan("5000.00")
    response = _invest(client, loan, amount)
    assert (
        response.status_code == 422 and message in response.data and b"<html" not in response.data
    )


def test_only_what_is_left_can_be_bought(client, investor):
    loan = listed_loan("500.00")
    other = lender(D("425"))
    from app.services.lending import investing

    investing.invest(
        db.session, lender_id=other.id, loan_id=loan.id, amount=D("425"), idempotency_key=key()
    )
    response = _invest(client, loan, "100", row=True)
    assert response.status_code == 422 and b"Only $75.00 left" in response.data
    assert b'class="row-invest"' in response.data


def test_double_submit_invests_once(client, investor):
    loan = listed_loan("1000.00")
    request_key = str(uuid.uuid4())
    assert _invest(client, loan, "100", request_key).status_code == 200
    assert _invest(client, loan, "100", request_key).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Investment)) == 1


def test_issued_loans_are_visible_only_to_their_noteholders(client, investor):
    loan, _ = issued_loan(["1000"])
    assert client.get(f"/lender/loans/{loan.id}").status_code == 404


def test_recommendations_and_preferences(app, client, investor, monkeypatch):
    monkeypatch.setitem(app.config, "ENABLE_AUTO_MATCHING", True)
    listed_loan("1000.00")
    page = client.get("/lender/recommendations")
    assert page.status_code == 200 and b"match" in page.data
    bad = client.post(
        "/lender/preferences",
        headers=HX,
        data={
            "risk_tolerance": "balanced",
            "min_note_amount": "100",
            "max_note_amount": "50",
            "auto_amount_per_note": "25",
            "auto_max_per_loan": "100",
            "auto_cash_cap": "500",
        },
    )
    assert bad.status_code == 422 and b"at least the smallest note" in bad.data
    good = client.post(
        "/lender/preferences",
        headers=HX,
        data={
            "risk_tolerance": "conservative",
            "min_note_amount": "25",
            "max_note_amount": "200",
            "terms": "36",
            "grades": ["A", "B"],
            "auto_invest_enabled": "y",
            "auto_amount_per_note": "25",
            "auto_max_per_loan": "50",
            "auto_cash_cap": "500",
        },
    )
    assert good.status_code == 204
    preference = db.session.scalars(select(LenderPreference)).one()
    assert (
        preference.grades == ["A", "B"]
        and preference.terms == [36]
        and preference.auto_invest_enabled
    )


def test_portfolio_page_filters_and_csv_exports(client, investor):
    loan, _ = issued_loan(["1000"], lenders=[investor])
    page = client.get("/lender/portfolio")
    assert page.status_code == 200 and b"Adjusted NAR" in page.data and b"<svg" in page.data
    fragment = client.get("/lender/portfolio?status=refunded", headers=HX)
    assert b"<html" not in fragment.data and b"No notes here" in fragment.data
    notes = list(
        csv.reader(io.StringIO(client.get("/lender/portfolio/notes.csv").get_data(as_text=True)))
    )
    assert notes[0][0] == "note" and notes[1][1] == str(loan.id)
    transactions = client.get("/lender/portfolio/transactions.csv").get_data(as_text=True)
    assert "Deposit" in transactions


def test_csv_cells_that_look_like_formulas_are_escaped():
    from app.services.servicing.portfolio import csv_cell

    assert [csv_cell(v) for v in ("=1+1", "+SUM(A1)", "-2", "@cmd", "plain", D("-12.50"))] == [
        "'=1+1",
        "'+SUM(A1)",
        "'-2",
        "'@cmd",
        "plain",
        "'-12.50",
    ]


@pytest.mark.parametrize(
    "url", ["/lender/", "/lender/loans", "/lender/portfolio", "/lender/recommendations"]
)
def test_lender_pages_are_for_lenders(client, login, url):
    login(UserFactory(role=Role.BORROWER))
    assert client.get(url).status_code == 403


def test_portfolio_with_notes_still_in_funding(client, investor):
    loan = listed_loan("1000.00")
    _invest(client, loan, "100")
    body = client.get("/lender/portfolio").get_data(as_text=True)
    assert "listed" in body and f"#{loan.id}" in body


def test_the_cash_page_says_cash_and_terms_are_explained_where_they_appear(client, login):
    """Issue 16 defect 14: "Cash" opened a page titled "Invest"; "In funding" and "Committed"
    named one thing; NAR, adjusted NAR, probability of default and grade went unexplained."""
    login(lender(D("100")))
    cash = client.get("/lender/").get_data(as_text=True)
    assert "<title>Cash" in cash and "<h1>Cash</h1>" in cash
    assert "In funding" in cash and "Net annualized return" in cash
    portfolio = client.get("/lender/portfolio").get_data(as_text=True)
    assert "Committed" not in portfolio and "In funding" in portfolio
    assert "Net annualized return" in portfolio and "losses to expect" in portfolio
    loan = client.get(f"/lender/loans/{listed_loan('1000.00').id}").get_data(as_text=True)
    assert "risk grade" in loan and "stop paying before the end of the term" in loan


PREFERENCES = {
    "risk_tolerance": "balanced",
    "min_note_amount": "25",
    "max_note_amount": "200",
    "auto_invest_enabled": "y",
    "auto_amount_per_note": "25",
    "auto_max_per_loan": "50",
}


def test_auto_invest_controls_are_off_while_the_platform_switch_is(app, client, investor):
    """Issue 16 defect 10: "switched off on this platform", yet the box could be ticked and
    "Preferences saved"; and a cash cap of $0.00 that lets auto-invest buy nothing."""
    page = client.get("/lender/recommendations").get_data(as_text=True)
    assert "switched off on this platform" in page
    box = re.search(r'<input[^>]*id="auto_invest_enabled"[^>]*>', page).group(0)
    assert "disabled" in box
    saved = client.post(
        "/lender/preferences", headers=HX, data={**PREFERENCES, "auto_cash_cap": "900"}
    )
    assert saved.status_code == 204  # the other preferences save
    preference = db.session.scalars(select(LenderPreference)).one()
    assert preference.max_note_amount == D("200") and not preference.auto_invest_enabled
    assert preference.auto_cash_cap == D("0.00")  # the disabled rules stayed as they were


def test_auto_invest_needs_room_for_a_note_and_suggests_the_cash_on_hand(
    app, client, investor, monkeypatch
):
    monkeypatch.setitem(app.config, "ENABLE_AUTO_MATCHING", True)
    page = client.get("/lender/recommendations").get_data(as_text=True)
    cap = re.search(r'<input[^>]*id="auto_cash_cap"[^>]*>', page).group(0)
    assert 'value="1000.00"' in cap or 'value="1000"' in cap  # the investor's cash, not 0.00
    refused = client.post(
        "/lender/preferences", headers=HX, data={**PREFERENCES, "auto_cash_cap": "0"}
    )
    assert refused.status_code == 422 and b"room for at least one note" in refused.data


def test_empty_filters_stay_out_of_the_address_and_filters_can_be_cleared(client, investor):
    """Issue 16 defect 7 (part): empty parameters in the URL; no way to clear; no titles."""
    loan = listed_loan("1000.00")
    loan.title = "New roof before winter"
    db.session.flush()
    plain = client.get("/lender/loans?grade=A&term=&purpose=&min_amount=&sort=rate")
    assert (
        plain.status_code == 303 and plain.headers["Location"] == "/lender/loans?grade=A&sort=rate"
    )
    htmx = client.get("/lender/loans?grade=&term=36&max_dti=", headers=HX)
    assert htmx.status_code == 200 and htmx.headers["HX-Push-Url"] == "/lender/loans?term=36"
    page = client.get("/lender/loans").get_data(as_text=True)
    assert 'href="/lender/loans">Clear filters</a>' in page and "New roof before winter" in page


def test_the_portfolio_pages_its_notes(client, investor):
    loan = listed_loan("5000.00")
    cash.deposit(
        db.session, investor.id, D("1000"), provider=Provider.SIMULATED, idempotency_key=key()
    )
    for _ in range(portfolio.NOTES_PAGE_SIZE + 5):
        assert _invest(client, loan, "25").status_code == 200
    first = client.get("/lender/portfolio").get_data(as_text=True)
    notes = first[first.index('id="notes"') :]
    assert (
        notes.count(f'href="/lender/loans/{loan.id}">#{loan.id}</a>') == portfolio.NOTES_PAGE_SIZE
    )
    assert "Page 1 of 2" in notes and 'href="/lender/portfolio?page=2"' in notes
    assert ">Older</a>" in notes and "Newer" not in notes
    second = client.get("/lender/portfolio?page=2", headers=HX).get_data(as_text=True)
    assert "<html" not in second and second.count(f">#{loan.id}</a>") == 5
    assert "Page 2 of 2" in second and "Newer" in second and "Older" not in second
    assert client.get("/lender/portfolio?page=abc").status_code == 200
