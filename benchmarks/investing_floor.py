"""The floor for the investing benchmark: a bare Flask view doing the least an investment must do
(the guarded UPDATE of the hot loan and one note INSERT, then COMMIT) as plain SQL on one
psycopg2 connection per worker (no auth, no ORM, no idempotency, no ledger, no audit row)."""

import os
from decimal import Decimal

import psycopg2
from flask import Flask, request

app = Flask(__name__)
URL = os.environ["BENCH_DATABASE_URL"]
RESERVE = (
    "UPDATE loans SET funded_amount = funded_amount + %(amount)s "
    "WHERE id = %(loan)s AND funded_amount + %(amount)s <= amount RETURNING funded_amount"
)
NOTE = (
    "INSERT INTO investments (loan_id, lender_id, amount, principal_outstanding, status, "
    "auto_invested, auto_invest_reason, created_at, updated_at) "
    "VALUES (%(loan)s, %(lender)s, %(amount)s, 0, 'committed', false, NULL, now(), now()) "
    "RETURNING id"
)

_connection = None


def connection():
    """One connection per worker process, kept open (as a pool would); autocommit off."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg2.connect(URL)
    return _connection


@app.post("/floor/invest")
def invest():
    body = request.get_json()
    params = {
        "loan": int(body["loan_id"]),
        "lender": int(body["lender_id"]),
        "amount": Decimal(body["amount"]),
    }
    db = connection()
    try:
        with db.cursor() as cursor:
            cursor.execute(RESERVE, params)
            reserved = cursor.fetchone()
            if reserved is None:
                db.rollback()
                return {"error": "conflict", "message": "Loan full or missing."}, 409
            cursor.execute(NOTE, params)
            note_id = cursor.fetchone()[0]
        db.commit()
    except Exception:
        db.rollback()
        raise
    return {
        "id": note_id,
        "loanId": params["loan"],
        "amount": f"{params['amount']:.2f}",
        "fundedAmount": f"{reserved[0]:.2f}",
    }, 201
