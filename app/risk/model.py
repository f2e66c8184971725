"""A trained PD model with everything needed to score, explain and audit it."""

from dataclasses import dataclass, field

import numpy as np

from app.risk.schema import CATEGORICAL, FEATURES, NUMERIC

NUMERIC_NAMES = [f.name for f in NUMERIC]
CATEGORICAL_NAMES = [f.name for f in CATEGORICAL]


@dataclass
class ModelBundle:
    version: str
    family: str  # "logistic" or "gbm_monotone"
    calibration: str  # "sigmoid" or "isotonic"
    estimator: object  # a fitted CalibratedClassifierCV(ensemble=False) around the pipeline
    features: tuple[str, ...] = FEATURES
    reference: dict = field(default_factory=dict)  # the average training applicant
    metadata: dict = field(default_factory=dict)

    @property
    def base(self):
        return self.estimator.calibrated_classifiers_[0].estimator

    @property
    def calibrator(self):
        return self.estimator.calibrated_classifiers_[0].calibrators[0]

    def logit(self, rows: list[dict]) -> np.ndarray:
        """The uncalibrated score (log-odds for the logistic model)."""
        if self.family == "logistic":
            return self._linear_matrix(_columns_of(rows))[0]
        return self._logit_frame(to_frame(rows))

    def probability(self, rows: list[dict]) -> np.ndarray:
        """Calibrated probability of default for each row of features."""
        return self.probability_matrix(_columns_of(rows))

    def contributions(self, features: dict) -> dict[str, float]:
        """Each feature's push on the score versus the average applicant (sums to the gap)."""
        pushes = self.contribution_matrix(_columns_of([features]))[0]
        return dict(zip(self.features, pushes.tolist(), strict=True))

    def probability_matrix(self, columns: dict) -> np.ndarray:
        """`probability` for feature columns (name → array), as one array operation."""
        if self.family == "logistic":
            return np.clip(self.calibrator.predict(self._linear_matrix(columns)[0]), 1e-6, 1 - 1e-6)
        return self.estimator.predict_proba(_column_frame(columns))[:, 1]

    def contribution_matrix(self, columns: dict) -> np.ndarray:
        """`contributions` for feature columns: a (rows, features) matrix in FEATURES order."""
        if self.family == "logistic":
            _, pushes = self._linear_matrix(columns)
            return pushes
        base = self._logit_frame(_column_frame(columns))
        pushes = np.empty((len(base), len(self.features)))
        for index, name in enumerate(self.features):  # occlusion, a column at a time
            probe = dict(columns, **{name: np.full(len(base), self.reference[name], dtype=object)})
            pushes[:, index] = base - self._logit_frame(_column_frame(probe))
        return pushes

    def _logit_frame(self, frame) -> np.ndarray:
        proba = self.base.predict_proba(frame)[:, 1]
        return np.log(proba / (1 - proba))

    def _linear_matrix(self, columns: dict) -> tuple[np.ndarray, np.ndarray]:
        """Log-odds per row, and each feature's push on them versus the average applicant."""
        pre, lr = self.base.named_steps["pre"], self.base.named_steps["model"]
        scaler = pre.named_transformers_["num"]
        coefficients = lr.coef_[0]
        numeric = np.column_stack([np.asarray(columns[n], dtype=float) for n in NUMERIC_NAMES])
        pushes_numeric = coefficients[: len(NUMERIC_NAMES)] * (
            (numeric - scaler.mean_) / scaler.scale_
        )
        categories = list(pre.named_transformers_["cat"].categories_[0])
        weight_of = {c: self._category_weight(c, pre, coefficients) for c in categories}
        weights = np.array([weight_of.get(p, 0.0) for p in columns["purpose"]])
        logit = lr.intercept_[0] + pushes_numeric.sum(axis=1) + weights
        pushes = np.column_stack([pushes_numeric, weights - self.reference["purpose_mean_weight"]])
        return logit, pushes

    def _category_weight(self, value: str, pre, coefficients) -> float:
        encoder = pre.named_transformers_["cat"]
        categories = list(encoder.categories_[0])
        if value not in categories:
            return 0.0
        return float(coefficients[len(NUMERIC_NAMES) + categories.index(value)])


def _columns_of(rows: list[dict]) -> dict:
    """Rows of features as columns (name → values), the shape the matrix methods take."""
    return {name: [row[name] for row in rows] for name in FEATURES}


def _column_frame(columns: dict):
    import pandas as pd

    return pd.DataFrame({name: columns[name] for name in FEATURES}, columns=list(FEATURES))


def to_frame(rows: list[dict]):
    """Rows of features as the DataFrame the sklearn pipeline was trained on."""
    import pandas as pd

    return pd.DataFrame(rows, columns=list(FEATURES))
