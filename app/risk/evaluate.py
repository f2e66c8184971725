"""Score a CSV in the LendingClub 2007–2010 schema with the active model; print one JSON line.

python -m app.risk.evaluate --csv PATH [--version VERSION]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from app.risk import metrics, registry
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
    parser.add_argument("--csv", required=True)
    parser.add_argument("--version", default=None)
    args = parser.parse_args(argv)
    try:
        print(json.dumps(evaluate(Path(args.csv), args.version)))
    except (OSError, KeyError, ValueError, registry.RegistryError) as error:
        print(json.dumps({"error": str(error)}))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
