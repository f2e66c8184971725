"""CSV files for import tests, written the way a spreadsheet exports them."""

import csv
import io

USER_HEADER = ["email", "first_name", "last_name", "role", "annual_income"]
LOAN_HEADER = [
    "external_id",
    "borrower_email",
    "amount",
    "term_months",
    "purpose",
    "annual_income",
    "monthly_debt",
    "credit_score",
    "credit_history_months",
    "revolving_balance",
    "revolving_utilization",
    "inquiries_6m",
    "delinquencies_2y",
    "public_records",
]
OUTCOME_HEADER = [
    "external_id",
    "amount",
    "term_months",
    "purpose",
    "annual_income",
    "monthly_debt",
    "credit_score",
    "credit_history_months",
    "revolving_balance",
    "revolving_utilization",
    "inquiries_6m",
    "delinquencies_2y",
    "public_records",
    "defaulted",
]


def csv_bytes(header: list[str], rows: list[list], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def user_row(email: str, role: str = "borrower", income: str = "52000.00") -> list:
    return [email, "Imported", "Person", role, income]


def loan_row(external_id: str, email: str, amount: str = "5000.00", **changes) -> list:
    values = {
        "external_id": external_id,
        "borrower_email": email,
        "amount": amount,
        "term_months": "36",
        "purpose": "credit_card",
        "annual_income": "65000",
        "monthly_debt": "900.00",
        "credit_score": "720",
        "credit_history_months": "140",
        "revolving_balance": "4200",
        "revolving_utilization": "31.5",
        "inquiries_6m": "1",
        "delinquencies_2y": "0",
        "public_records": "0",
    }
    values.update(changes)
    return [values[name] for name in LOAN_HEADER]


def outcome_row(external_id: str, defaulted: str = "0", **changes) -> list:
    values = dict(zip(LOAN_HEADER, loan_row(external_id, "x@example.com"), strict=True))
    values.update(external_id=external_id, defaulted=defaulted, **changes)
    return [values[name] for name in OUTCOME_HEADER]
