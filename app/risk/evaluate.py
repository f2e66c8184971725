"""Score a CSV in the LendingClub 2007–2010 schema with the active model, or audit our
pipeline's fairness; print one JSON line.

python -m app.risk.evaluate --csv PATH [--version VERSION]
python -m app.risk.evaluate --fairness
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from app.risk import fairness, metrics, registry
from app.risk.train import load_rows


def evaluate(csv_path: Path, version: str | None = None) -> dict:
    """AUC, Brier, KS and n of the model on a labelled file."""
    rows, y, _ = load_rows(csv_path)
    model = registry.load(version or registry.default_version())
    pd = model.probability(rows)
    summary = metrics.summary(y, np.asarray(pd))
    return {
        "auc": round(summary["auc"], 4),
        "brier": round(summary["brier"], 4),
        "ks": round(summary["ks"], 4),
        "ece": round(summary["ece"], 4),
        "n": summary["n"],
        "model_version": model.version,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", help="a labelled file to score with the model")
    parser.add_argument("--version", default=None)
    parser.add_argument(
        "--fairness",
        action="store_true",
        help="audit our pipeline on the German credit data instead (app/risk/fairness.py)",
    )
    args = parser.parse_args(argv)
    if not args.fairness and not args.csv:
        parser.error("give --csv PATH, or --fairness")
    try:
        result = fairness.audit() if args.fairness else evaluate(Path(args.csv), args.version)
        print(json.dumps(result))
    except (OSError, KeyError, ValueError, registry.RegistryError) as error:
        print(json.dumps({"error": str(error)}))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
