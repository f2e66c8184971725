"""Scoring an import in one pass: applications scored and their assessments recorded per
second, against a floor of writing the very same assessment rows alone.

`import_scoring.record_scores` reads every waiting application in chunks, scores each chunk as
arrays and inserts its assessments. The floor inserts the same rows (taken from the pass, so
the same JSON) with the same statement, without reading or scoring: what the database write
costs. Also printed: what the model would take one by one (2,000 applications, scaled).
Ends with one JSON line.

    .venv/bin/python benchmarks/import_scoring.py [--rows 100000]
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text  # noqa: E402

from benchmarks._setup import fresh_app  # noqa: E402

DATABASE = "communitylend_bench_import_scoring"

LOANS_SQL = """
INSERT INTO loans (borrower_id, amount, requested_amount, term_months, requested_term_months,
    purpose, status, external_id, annual_income, monthly_debt, credit_score,
    credit_history_months, revolving_balance, revolving_utilization, inquiries_6m,
    delinquencies_2y, public_records, funded_amount, principal_outstanding, days_past_due,
    created_at, updated_at)
SELECT :borrower, a, a, t, t, p, 'submitted', 'bench-' || g, i, round(i * d / 1200, 2),
       620 + (g * 7919) % 200, 24 + g % 300, round(i * ((g * 13) % 40) / 100, 2),
       (g * 31) % 100, g % 4, (g % 17 = 0)::int, (g % 23 = 0)::int, 0, 0, 0, now(), now()
  FROM (SELECT g,
               1000 + (g * 6151) % 39 * 1000 AS a,
               CASE WHEN g % 3 = 0 THEN 60 ELSE 36 END AS t,
               (ARRAY['debt_consolidation', 'credit_card', 'home_improvement', 'business',
                      'medical', 'other'])[1 + g % 6] AS p,
               30000 + (g * 104729) % 120000 AS i,
               (g * 17) % 30 AS d
          FROM generate_series(CAST(1 AS bigint), :rows) g) made
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    app = fresh_app(DATABASE)
    with app.app_context():
        from app.extensions import db
        from app.models import Loan, RiskAssessment
        from app.risk import predict
        from app.services.lending import import_scoring
        from app.services.platform import risk_models
        from tests.factories import CompleteUserFactory

        borrower = CompleteUserFactory()
        db.session.execute(text(LOANS_SQL), {"borrower": borrower.id, "rows": args.rows})
        db.session.commit()
        db.session.execute(text("ANALYZE loans"))
        risk_models.load_bundle(db.session, risk_models.active_version(db.session))  # warm

        started = time.perf_counter()
        scored = import_scoring.record_scores(db.session)
        db.session.commit()
        one_pass = time.perf_counter() - started

        rows = [
            {c.name: getattr(a, c.name) for c in RiskAssessment.__table__.columns if c.name != "id"}
            for a in db.session.scalars(select(RiskAssessment))
        ]
        db.session.execute(text("DELETE FROM risk_assessments"))
        db.session.commit()
        started = time.perf_counter()
        for start in range(0, len(rows), import_scoring.CHUNK):
            db.session.execute(insert(RiskAssessment), rows[start : start + import_scoring.CHUNK])
        db.session.commit()
        floor = time.perf_counter() - started

        sample = [
            risk_models.application_of(loan)
            for loan in db.session.scalars(select(Loan).limit(2000))
        ]
        started = time.perf_counter()
        for application in sample:
            predict.score(application)
        one_by_one = (time.perf_counter() - started) * args.rows / len(sample)

    print(f"{'how':<34} {'seconds':>9} {'per second':>12}")
    print(f"{'one pass: read, score, record':<34} {one_pass:>9.2f} {scored / one_pass:>12,.0f}")
    print(f"{'floor: the same rows written':<34} {floor:>9.2f} {scored / floor:>12,.0f}")
    print(
        f"{'the model one by one (scaled)':<34} {one_by_one:>9.2f} {args.rows / one_by_one:>12,.0f}"
    )
    print(
        json.dumps(
            {
                "benchmark": "import_scoring",
                "rows": args.rows,
                "scored": scored,
                "one_pass_s": round(one_pass, 2),
                "floor_write_s": round(floor, 2),
                "ratio_to_floor": round(one_pass / floor, 2),
                "one_by_one_model_s": round(one_by_one, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
