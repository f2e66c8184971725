"""A statement as people read it: labelled sections (the page and the PDF), a CSV, a PDF."""

import csv
import io
from datetime import date
from decimal import Decimal

from reportlab.lib.pagesizes import LETTER
from reportlab.pdfgen.canvas import Canvas

from app.models import StatementKind
from app.services.statements import borrower, lender_month, tax
from app.services.statements.periods import Period

LABELS = {
    "opening_cash": "Opening cash",
    "deposits": "Deposits",
    "withdrawals": "Withdrawals",
    "withdrawals_returned": "Withdrawals returned",
    "invested": "Invested in new loans",
    "refunds": "Commitments returned",
    "principal": "Principal received",
    "interest": "Interest received",
    "late_fees": "Late fees received",
    "recoveries": "Recoveries",
    "servicing_fees": "Servicing fees",
    "agency_fees": "Collection agency fees (recoveries)",
    "notes_sold": "Notes sold",
    "trading_fees": "Trading fees",
    "notes_bought": "Notes bought",
    "other": "Other",
    "closing_cash": "Closing cash",
    "charge_offs": "Principal charged off",
    "notes_at_close": "Notes outstanding at close",
    "gross_interest": "Interest received (gross)",
    "accrued_interest_sold": "Accrued interest received on notes sold",
    "accrued_interest_bought": "Accrued interest paid on notes bought",
    "net_interest": "Interest income (net)",
    "charge_off_losses": "Charge-off losses",
    "short_term_gains": "Realised gains, short term",
    "long_term_gains": "Realised gains, long term",
    "realised_gains": "Realised gains, total",
    "opening_balance": "Balance at start",
    "lent": "Loan issued",
    "payments": "Payments received",
    "fees": "Fees paid",
    "fees_charged": "Late fees charged",
    "interest_capitalised": "Interest capitalised (hardship plan)",
    "forgiven": "Forgiven (settled for less)",
    "closing_balance": "Balance at end",
    "next_due_date": "Next payment due",
    "next_due_amount": "Next payment amount",
}
TITLES = {
    StatementKind.LENDER_MONTH: "Monthly account statement",
    StatementKind.LENDER_YEAR: "Year-end tax package",
    StatementKind.BORROWER_MONTH: "Monthly loan statement",
    StatementKind.BORROWER_YEAR: "Year-end interest statement",
}
LENDER_MONTH = (*["opening_cash", *lender_month.LINES, "closing_cash"],)
LENDER_NOTES = ("charge_offs", "notes_at_close")
BORROWER_MONTH = (*borrower.MONTH_FIELDS, "next_due_date", "next_due_amount")


def as_json(value):
    """Figures as JSON: money as strings with two decimals, dates as ISO strings, keys as text."""
    if isinstance(value, dict):
        return {str(key): as_json(item) for key, item in value.items()}
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def sections(kind: StatementKind, figures: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """(heading, [(label, value)]) in reading order, from the stored (JSON) figures."""
    figures = as_json(figures)

    def rows(names, source):
        return [(LABELS[name], source.get(name) or "—") for name in names]

    if kind is StatementKind.LENDER_MONTH:
        cash = [(label, _signed(name, value)) for name, (label, value) in
                zip(LENDER_MONTH, rows(LENDER_MONTH, figures), strict=True)]  # fmt: skip
        return [("Cash", cash), ("Notes", rows(LENDER_NOTES, figures))]
    if kind is StatementKind.LENDER_YEAR:
        return [("Tax figures", rows(tax.FIELDS, figures))]
    names = BORROWER_MONTH if kind is StatementKind.BORROWER_MONTH else borrower.YEAR_FIELDS
    return [(f"Loan #{loan}", rows(names, f)) for loan, f in figures["loans"].items()]


def _signed(name: str, value: str) -> str:
    """A line that takes cash away, shown with its minus sign (ASCII: the PDF's fonts have it)."""
    if lender_month.LINES.get(name) == -1 and value != "0.00":
        return f"-{value}"
    return value


def csv_text(kind: StatementKind, period: Period, figures: dict) -> str:
    """The statement as CSV: `item,amount` rows, or for a borrower one row per loan."""
    figures = as_json(figures)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if kind in (StatementKind.LENDER_MONTH, StatementKind.LENDER_YEAR):
        names = (*LENDER_MONTH, *LENDER_NOTES) if kind is StatementKind.LENDER_MONTH else tax.FIELDS
        writer.writerow(["item", "amount"])
        writer.writerows([name, figures[name]] for name in names)
        return out.getvalue()
    names = BORROWER_MONTH if kind is StatementKind.BORROWER_MONTH else borrower.YEAR_FIELDS
    writer.writerow(["loan", *names])
    for loan, f in figures["loans"].items():
        writer.writerow([loan, *(f.get(name) or "" for name in names)])
    return out.getvalue()


def pdf_bytes(kind: StatementKind, period: Period, figures: dict, holder: str) -> bytes:
    """The statement as a one-or-more page PDF (ReportLab's canvas: fast, no layout engine)."""
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=LETTER, pageCompression=1)
    pdf.setTitle(f"CommunityLend {TITLES[kind]}")
    width, height = LETTER
    y = height - 72
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(72, y, f"CommunityLend — {TITLES[kind]}")
    pdf.setFont("Helvetica", 10)
    pdf.drawString(72, y - 18, f"{holder}   Period: {period.start} to {period.end} (exclusive)")
    y -= 48
    for heading, rows in sections(kind, figures):
        if y < 72 + 14 * (len(rows) + 2):
            pdf.showPage()
            y = height - 72
        pdf.setFont("Helvetica-Bold", 12)
        pdf.drawString(72, y, heading)
        y -= 16
        pdf.setFont("Helvetica", 10)
        for label, value in rows:
            pdf.drawString(84, y, label)
            pdf.drawRightString(width - 72, y, value)
            y -= 14
        y -= 10
    pdf.showPage()
    pdf.save()
    return out.getvalue()
