"""An admin in real Chromium: the queue in the top bar → a refused decline → approve → import a
CSV with one bad row."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.models import ImportBatch, Loan, LoanPurpose, LoanStatus, Role, User
from app.services.lending import origination
from app.services.lending.origination import Offer
from tests.builders import CREDIT_FACTS, verified_borrower
from tests.factories import UserFactory
from tests.helpers import PASSWORD
from tests.imports.csvfiles import USER_HEADER, csv_bytes, user_row

pytestmark = pytest.mark.committing


def _application_waiting_for_approval(session) -> Loan:
    borrower = verified_borrower()
    loan = origination.create_application(
        session,
        borrower.id,
        amount=Decimal("8000.00"),
        term_months=36,
        purpose=LoanPurpose.HOME_IMPROVEMENT,
        credit_facts=dict(CREDIT_FACTS),
        title="New kitchen",
    )
    origination.make_offer(session, loan, Offer("B2", Decimal("11.25"), Decimal("3"), ["test"]))
    origination.accept_offer(session, loan)
    return loan


@pytest.mark.parametrize("page", ["desktop", "phone"], indirect=True)
def test_admin_approves_an_application_then_imports_a_csv_with_one_bad_row(
    page, committed, tmp_path
):
    admin = UserFactory(role=Role.ADMIN, email="ops@example.com")
    loan = _application_waiting_for_approval(committed)
    committed.commit()

    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url("/admin/", timeout=10_000)
    queue = page.get_by_role("link", name="Applications 1 waiting for approval")
    expect(queue).to_be_visible()
    queue.click()
    page.get_by_role("link", name=f"#{loan.id} New kitchen").click()

    # A decline without reasons: htmx swaps the 422 form in place, with the message on the field.
    page.get_by_role("button", name="Decline").click()
    reasons = page.get_by_label("Reasons for declining (one per line)")
    expect(reasons).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#decline-reason-error")).to_have_text(
        "Give the principal reasons for the decline."
    )
    expect(page).to_have_url(f"/admin/applications/{loan.id}")

    page.get_by_label("Note (optional)").fill("Documents checked")
    page.get_by_role("button", name="Approve and list").click()
    # The confirmation step: the figures, then "Go back" leaves everything as it was.
    step = page.get_by_role("alertdialog", name=f"Approve and list loan #{loan.id} for $8,000.00?")
    expect(step).to_contain_text("lists in the marketplace for 14 days")
    step.get_by_role("button", name="Go back").click()
    expect(step).to_have_count(0)
    committed.expire_all()
    assert committed.get(Loan, loan.id).status is LoanStatus.PENDING_APPROVAL
    page.get_by_role("button", name="Approve and list").click()
    expect(step.get_by_role("button", name="Approve and list")).to_be_focused()
    step.get_by_role("button", name="Approve and list").click()
    expect(page.locator("#flash")).to_contain_text("list")
    expect(page.get_by_role("link", name="Applications 0 waiting for approval")).to_be_visible()
    committed.expire_all()
    assert committed.get(Loan, loan.id).status is LoanStatus.LISTED

    bad = tmp_path / "people.csv"
    bad.write_bytes(
        csv_bytes(
            USER_HEADER,
            [
                user_row("first@example.com"),
                user_row("second@example", "lender"),
                user_row("third@example.com"),
            ],
        )
    )
    page.get_by_role("link", name="Imports", exact=True).click()
    page.get_by_label("The file holds").select_option("users")
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_contain_text("1 problem found: nothing was imported")
    error_row = page.locator("#import-errors tbody tr")
    expect(error_row).to_have_count(1)
    expect(error_row).to_contain_text("3")
    expect(error_row).to_contain_text("email")
    expect(error_row).to_contain_text("is not an email address")
    expect(page.get_by_role("button", name="Import")).to_have_count(0)

    # Fixed and uploaded again: confirmed, the job runs in-process, progress ends in "Imported".
    good = tmp_path / "people-fixed.csv"
    good.write_bytes(
        csv_bytes(
            USER_HEADER, [user_row("first@example.com"), user_row("second@example.com", "lender")]
        )
    )
    page.get_by_role("link", name="Imports", exact=True).click()
    page.get_by_label("The file holds").select_option("users")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.locator("#import-status")).to_contain_text("Imported 2 rows", timeout=20_000)
    # The browser logs every 4xx; the refused decline's 422 is the one expected.
    assert [text for text in page.console_errors if "status of 422" not in text] == []
    committed.expire_all()
    assert (
        committed.scalar(
            select(func.count()).where(
                User.email.like("%@example.com"), User.password_hash == "!imported"
            )
        )
        == 2
    )
    assert committed.scalar(select(func.count()).select_from(ImportBatch)) == 2
