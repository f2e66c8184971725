"""Discrimination and calibration measures for PD models."""

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve


def ks_statistic(y: np.ndarray, pd: np.ndarray) -> float:
    """Kolmogorov–Smirnov: the largest gap between the bad and good score distributions."""
    fpr, tpr, _ = roc_curve(y, pd)
    return float(np.max(tpr - fpr))


def calibration_table(y: np.ndarray, pd: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-frequency bins of predicted PD with the observed bad rate in each."""
    order = np.argsort(pd, kind="stable")
    rows = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            rows.append(
                {
                    "n": int(len(chunk)),
                    "mean_pd": float(pd[chunk].mean()),
                    "bad_rate": float(y[chunk].mean()),
                }
            )
    return rows


def expected_calibration_error(y: np.ndarray, pd: np.ndarray, bins: int = 10) -> float:
    """Share-weighted |mean PD − bad rate| over equal-frequency bins."""
    table = calibration_table(y, pd, bins)
    total = sum(row["n"] for row in table)
    return float(sum(row["n"] / total * abs(row["mean_pd"] - row["bad_rate"]) for row in table))


def summary(y: np.ndarray, pd: np.ndarray) -> dict:
    """AUC, KS, Brier, ECE and calibration-in-the-large for one set of predictions."""
    return {
        "auc": float(roc_auc_score(y, pd)),
        "ks": ks_statistic(y, pd),
        "brier": float(brier_score_loss(y, pd)),
        "ece": expected_calibration_error(y, pd),
        "mean_pd_minus_bad_rate": float(pd.mean() - y.mean()),
        "n": int(len(y)),
    }


def roc_points(y: np.ndarray, pd: np.ndarray, points: int = 25) -> list[list[float]]:
    """A thinned ROC curve for charts."""
    fpr, tpr, _ = roc_curve(y, pd)
    index = np.unique(np.linspace(0, len(fpr) - 1, points).astype(int))
    return [[round(float(fpr[i]), 4), round(float(tpr[i]), 4)] for i in index]
