"""Every page of every role in real Chromium, at desktop and at phone width (390 px): nothing
scrolls sideways, and axe-core (WCAG 2.1 AA rules) finds no serious or critical violation."""

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import (
    AccountStatement,
    Document,
    DocumentKind,
    LoanPurpose,
    ModificationKind,
    Role,
    User,
)
from app.services.lending import adverse_action, origination, underwriting
from app.services.lending.origination import Offer
from app.services.servicing import modifications, repayments
from app.services.statements import issue, periods
from app.services.trading import listings
from tests.builders import CREDIT_FACTS, issued_loan, lender, listed_loan
from tests.e2e.conftest import sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.committing
SCREENSHOTS = os.environ.get("SCREENSHOTS_DIR")
WIDTHS = {"desktop": 1280, "phone": 390}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ACCOUNT_PAGES = [
    "/account",
    "/account/profile/edit",
    "/account/password",
    "/account/mfa",
    "/account/sessions",
    "/account/notifications",
    "/account/documents",
    "/account/statements",
]
# The outermost elements that stick out past the right edge: where a layout fix belongs.
WIDEST_ELEMENTS = """width => {
  const clipped = e => {
    for (let a = e.parentElement; a; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    return false;
  };
  const out = [...document.body.querySelectorAll('*')].filter(
    e => e.getBoundingClientRect().right > width + 1 && !clipped(e));
  const outermost = out.filter(e => !out.includes(e.parentElement));
  return outermost.slice(0, 4).map(e => e.tagName.toLowerCase() +
    (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined
      ? '.' + e.className.split(' ').join('.') : '') + ' «' + e.textContent.trim().slice(0, 30) + '»');
}"""


def _book(session) -> dict:
    """One of everything a page can show: an issued loan with notes, an open listing, an
    application with an offer, a document waiting for review."""
    loan, notes = issued_loan(["600.00", "400.00"], issued_on=date(2026, 1, 15))
    listing = listed_loan("5000.00")
    borrower = session.get(User, loan.borrower_id)
    application = origination.create_application(
        session,
        borrower.id,
        amount=Decimal("3000.00"),
        term_months=36,
        purpose=LoanPurpose.HOME_IMPROVEMENT,
        credit_facts=dict(CREDIT_FACTS),
        title="A reliable car",
    )
    origination.make_offer(session, application, Offer("B2", Decimal("11.25"), Decimal("3"), []))
    stretched = origination.create_application(
        session,
        borrower.id,
        amount=Decimal("20000.00"),
        term_months=36,
        purpose=LoanPurpose.DEBT_CONSOLIDATION,
        credit_facts={
            **CREDIT_FACTS,
            "annual_income": Decimal("48000"),
            "monthly_debt": Decimal("1200"),
        },
    )
    underwriting.score_application(session, stretched.id)  # a counter-offer with its notice
    adverse_action.request_review(session, stretched.id, borrower.id, "A second income.")
    session.add(
        Document(
            user_id=borrower.id,
            kind=DocumentKind.INCOME,
            original_filename="payslip.pdf",
            stored_name="payslip-in-the-queue.pdf",  # pages list it; nobody downloads it here
            content_type="application/pdf",
            size_bytes=1024,
            sha256="0" * 64,
        )
    )
    admin = UserFactory(role=Role.ADMIN)
    task = _collections_task(session, loan, admin)
    investor = session.get(User, notes[0].lender_id)
    for_sale = listings.list_note(
        session,
        seller_id=notes[1].lender_id,
        investment_id=notes[1].id,
        markup_percent=Decimal("-1"),
    )
    lender(Decimal("250.00"))
    issue.issue_month(session, periods.month(2026, 1))  # the loan's first month: two statements
    statement = {row.user_id: row.id for row in session.scalars(select(AccountStatement))}
    payoff = repayments.payoff_amount(session, loan, date.today()).total
    hardship = modifications.request(
        session, loan.id, borrower.id, ModificationKind.SETTLEMENT,
        {"amount": (payoff * Decimal("0.7")).quantize(Decimal("0.01"))}, "Lost my job", date.today(),
    )  # fmt: skip
    session.commit()
    return {
        "borrower": (
            borrower.email,
            [
                "/borrower/",
                "/borrower/applications/new",
                f"/borrower/applications/{application.id}",
                f"/borrower/applications/{stretched.id}",
                f"/borrower/loans/{loan.id}",
                f"/borrower/loans/{loan.id}/hardship",
                *ACCOUNT_PAGES,
                f"/account/statements/{statement[borrower.id]}",
            ],
        ),
        "lender": (
            investor.email,
            [
                "/lender/",
                "/lender/loans",
                f"/lender/loans/{listing.id}",
                f"/lender/loans/{loan.id}",  # its notes' collection activity
                "/lender/portfolio",
                "/lender/recommendations",
                "/lender/secondary",
                f"/lender/secondary/{for_sale.id}",
                "/lender/sell",
                "/lender/trades",
                "/lender/strategies",
                "/lender/exit",
                "/lender/diversification",
                *ACCOUNT_PAGES,
                f"/account/statements/{statement[investor.id]}",
            ],
        ),
        "admin": (
            admin.email,
            [
                "/admin/",
                "/admin/applications",
                f"/admin/applications/{application.id}",
                "/admin/documents",
                "/admin/reviews",
                "/admin/users",
                f"/admin/users/{borrower.id}",
                "/admin/loans",
                f"/admin/loans/{loan.id}",
                "/admin/hardship",
                f"/admin/hardship/{hardship.id}",
                "/admin/imports",
                "/admin/activity",
                "/admin/jobs",
                "/admin/risk",
                "/admin/collections",
                f"/admin/collections/{task.id}",
                *ACCOUNT_PAGES,
            ],
        ),
        "visitor": (
            None,
            ["/", "/login", "/register", "/register?role=lender", "/password/forgot"],
        ),
    }


def _problems_on(page, axe, path: str, width: int) -> list[str]:
    response = page.goto(path)
    page.wait_for_load_state("networkidle")
    if SCREENSHOTS:  # to look at the pages after a change of layout
        name = f"{width}-{path.strip('/').replace('/', '-') or 'home'}.png"
        page.screenshot(path=Path(SCREENSHOTS) / name, full_page=True)
    problems = [] if response.ok else [f"{path}: HTTP {response.status}"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        culprits = page.evaluate(WIDEST_ELEMENTS, width)
        problems.append(f"{path}: {scroll_width} px wide at {width} px, because of {culprits}")
    found = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    for violation in found.response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [" ".join(node["target"]) for node in violation["nodes"][:3]]
            problems.append(f"{path}: {violation['id']} ({violation['impact']}) at {targets}")
    return problems


ROLES = ["visitor", "borrower", "lender", "admin"]


# Desktop here; phone width in test_every_page_phone.py, a file of its own so that each of
# `make test`'s two workers takes one width.
@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_and_passes_axe(browser, live_url, committed, role):
    check_every_page(browser, live_url, committed, role, "desktop")


def check_every_page(browser, live_url, committed, role: str, width_name: str) -> None:
    email, paths = _book(committed)[role]
    width = WIDTHS[width_name]
    context = browser.new_context(base_url=live_url, viewport={"width": width, "height": 900})
    page = context.new_page()
    if email:
        sign_in(page, email)
    axe = Axe()
    problems = [problem for path in paths for problem in _problems_on(page, axe, path, width)]
    context.close()
    assert not problems, "\n".join(problems)


def test_the_estimate_stays_in_view_while_a_borrower_types_on_a_phone(browser, live_url, committed):
    email, _ = _book(committed)["borrower"]
    context = browser.new_context(base_url=live_url, viewport={"width": 390, "height": 800})
    page = context.new_page()
    sign_in(page, email)
    page.goto("/borrower/applications/new")
    amount = page.get_by_label("Amount to borrow (USD)")
    amount.fill("9000")
    expect(page.locator("#preview")).to_contain_text("/ month")
    for field in (amount, page.get_by_label("Monthly debt payments (USD)")):
        field.scroll_into_view_if_needed()
        box = page.locator("#preview .big-number").bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= 800, box
        assert not _overlaps(field.bounding_box(), page.locator("#preview").bounding_box())
    context.close()


def _overlaps(a, b) -> bool:
    return a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def _collections_task(session, loan, admin):
    """A task in the collections queue with a note and a promise (what its page shows)."""
    from app.models import CollectionEvent, CollectionNote, CollectionTask, PromiseToPay

    day = date(2026, 2, 22)
    task = CollectionTask(loan_id=loan.id, step="day_7_notice", opened_on=day, assignee_id=admin.id)
    session.add(task)
    session.flush()
    session.add_all(
        [
            CollectionEvent(
                loan_id=loan.id, due_date=date(2026, 2, 15), step="day_7_notice", business_date=day
            ),
            CollectionNote(task_id=task.id, author_id=admin.id, body="Left a voicemail."),
            PromiseToPay(
                task_id=task.id,
                loan_id=loan.id,
                admin_id=admin.id,
                made_on=day,
                pay_by=date(2026, 3, 1),
                amount=Decimal("50.00"),
            ),
        ]
    )
    return task
