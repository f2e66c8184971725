"""Risk scoring speed: one application in-process (median, p95) and a batch of 10,000 through
`predict.score_many` (array operations end to end: PD, grade, rate and the reasons), against
scoring the same 10,000 one by one. The goal: the batch in 50 ms or less.

python benchmarks/risk.py
"""

import csv
import gc
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
        predict.score_many(batch[:100], model=model)  # warm-up
        batch_runs = []
        for _ in range(5):
            gc.collect()  # the inputs' own garbage is not the batch's cost
            started = time.perf_counter()
            scored = predict.score_many(batch, model=model)
            scored.every_reason()  # worded, as an import stores them
            batch_runs.append(time.perf_counter() - started)
        assert not scored.errors and len(scored) == len(batch)
        batch_s = statistics.median(batch_runs)
        started = time.perf_counter()
        train.train(families=("logistic",), calibrations=("sigmoid",))
        train_s = time.perf_counter() - started
    timings.sort()
    figures = {
        "model_version": model.version,
        "calls": len(timings),
        "score_p50_ms": round(statistics.median(timings), 3),
        "score_p95_ms": round(timings[int(len(timings) * 0.95)], 3),
        "batch_10k_ms": round(batch_s * 1000, 1),
        "one_by_one_10k_ms": round(statistics.median(timings) * 10_000, 1),
        "train_with_cv_s": round(train_s, 2),
    }
    print(
        f"score (validate + PD + grade + rate + reasons): p50 {figures['score_p50_ms']} ms, "
        f"p95 {figures['score_p95_ms']} ms; 10,000 in one batch {batch_s * 1000:.1f} ms (goal 50 ms; "
        f"one by one {figures['one_by_one_10k_ms']:,.0f} ms); training with 5-fold CV "
        f"{train_s:.1f} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
