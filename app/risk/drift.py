"""Population stability: are the applications we score still like the ones the model learned on?

The population stability index of a feature compares the share of applications in each bin
of the training data's deciles: PSI = Σ (actual − expected) · ln(actual / expected). Below 0.10
nothing moved; 0.10–0.25 a shift worth watching; above 0.25 the population has changed enough
that the model's figures may no longer hold (the industry's rule of thumb, Siddiqi 2006).
"""

import numpy as np

from app.risk.schema import FEATURES, NUMERIC, PURPOSES

BINS = 10
SHIFTED = 0.25
WATCH = 0.10
FLOOR = 1e-4  # an empty bin counts as this share, so ln() stays finite


def reference(rows: list[dict], pd: np.ndarray) -> dict:
    """The training data's bins and shares, per numeric feature and for the score (PD): the
    deciles' inner edges, so ten bins each; the purpose's shares by category."""
    columns = {f.name: np.array([row[f.name] for row in rows], dtype=float) for f in NUMERIC}
    columns["score"] = np.asarray(pd, dtype=float)
    bins = {}
    for name, values in columns.items():
        edges = _edges(values)
        bins[name] = {"edges": edges.tolist(), "shares": _shares(values, edges).tolist()}
    purposes = [row["purpose"] for row in rows]
    bins["purpose"] = {
        "categories": list(PURPOSES),
        "shares": [purposes.count(p) / len(purposes) for p in PURPOSES],
    }
    return bins


def psi(expected, actual) -> float:
    """The population stability index between two lists of shares."""
    e = np.maximum(np.asarray(expected, dtype=float), FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def stability(bins: dict, rows: list[dict], pd) -> dict[str, float]:
    """PSI of each feature and of the score: `rows` (features as scored) against `bins`."""
    result = {}
    for name in [*FEATURES, "score"]:
        if name not in bins:
            continue
        reference_bins = bins[name]
        if name == "purpose":
            seen = [row["purpose"] for row in rows]
            actual = [seen.count(c) / len(seen) for c in reference_bins["categories"]]
        else:
            values = np.asarray(pd if name == "score" else [row[name] for row in rows], dtype=float)
            actual = _shares(values, np.asarray(reference_bins["edges"])).tolist()
        result[name] = round(psi(reference_bins["shares"], actual), 4)
    return result


def level(value: float) -> str:
    """ "stable", "watch" or "shifted"."""
    return "shifted" if value > SHIFTED else ("watch" if value > WATCH else "stable")


def _edges(values: np.ndarray) -> np.ndarray:
    """The deciles as bin edges, each moved halfway down to the next smaller value in the data:
    for a count like inquiries the decile *is* a value (1 inquiry), and a stored feature
    rounded a hair below it must still fall in the same bin."""
    deciles = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1]))
    distinct = np.unique(values)
    below = distinct[np.maximum(np.searchsorted(distinct, deciles) - 1, 0)]
    return np.where(below < deciles, (below + deciles) / 2, deciles)


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)
