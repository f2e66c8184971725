"""Risk scoring speed: one application in-process (median, p95) and a batch of 10,000.

python benchmarks/risk.py
"""

import csv
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadpoolctl import threadpool_limits  # noqa: E402

from app.risk import predict, train  # noqa: E402
from app.risk.features import application_from_lendingclub  # noqa: E402


def main() -> None:
    with (Path(train.DEFAULT_CSV)).open() as handle:
        applications = [application_from_lendingclub(row) for row in csv.DictReader(handle)]
    batch = (applications * 2)[:10_000]
    with threadpool_limits(1):
        model = predict.load_model()
        for application in applications[:200]:  # warm-up
            predict.score(application, model=model)
        timings = []
        for application in applications[:2000]:
            started = time.perf_counter()
            predict.score(application, model=model)
            timings.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        predict.score_many(batch, model=model)
        batch_s = time.perf_counter() - started
        started = time.perf_counter()
        train.train(families=("logistic",), calibrations=("sigmoid",))
        train_s = time.perf_counter() - started
    timings.sort()
    figures = {
        "model_version": model.version,
        "calls": len(timings),
        "score_p50_ms": round(statistics.median(timings), 3),
        "score_p95_ms": round(timings[int(len(timings) * 0.95)], 3),
        "batch_10k_s": round(batch_s, 3),
        "train_with_cv_s": round(train_s, 2),
    }
    print(
        f"score (validate + PD + grade + rate + reasons): p50 {figures['score_p50_ms']} ms, "
        f"p95 {figures['score_p95_ms']} ms; 10,000 in {batch_s:.2f} s; training with 5-fold CV "
        f"{train_s:.1f} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
