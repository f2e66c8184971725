"""The floor for the marketplace benchmark: a bare Flask view running the same filter, sort,
offset and count as plain SQL, rendering a plain 20-row table (no auth, no ORM, no layout)."""

import os

import psycopg2
from flask import Flask, render_template_string

app = Flask(__name__)
URL = os.environ["BENCH_DATABASE_URL"]
ROWS = """{% for r in rows %}<tr><td>{{ r[1] }}</td><td>{{ r[2] }}%</td><td>{{ r[3] }} mo</td>
<td>${{ "{:,.2f}".format(r[4]) }}</td><td>{{ r[5] }}</td><td>{{ r[6] }}%</td></tr>{% endfor %}
<p>{{ total }} loans</p>"""
WHERE = (
    "status = 'listed' AND funding_deadline > now() AND left(risk_grade, 1) IN ('A') "
    "AND term_months = 36 AND amount BETWEEN 5000 AND 20000"
)


_connection = None


def connection():
    """One connection per worker process, kept open (as a pool would)."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg2.connect(URL)
        _connection.autocommit = True
    return _connection


@app.get("/floor")
def floor():
    with connection().cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM loans WHERE {WHERE}")  # noqa: S608 - constant SQL
        total = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT id, risk_grade, interest_rate, term_months, amount, purpose, "  # noqa: S608
            f"round(funded_amount * 100 / amount, 1) FROM loans WHERE {WHERE} "
            "ORDER BY interest_rate DESC, id DESC LIMIT 20 OFFSET 400"
        )
        rows = cursor.fetchall()
    return render_template_string(ROWS, rows=rows, total=total)
