"""A trained PD model with everything needed to score, explain and audit it."""

from dataclasses import dataclass, field

import numpy as np

from app.risk.schema import BY_NAME, CATEGORICAL, FEATURES, NUMERIC

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
            return self._linear(rows)
        proba = self.base.predict_proba(to_frame(rows))[:, 1]
        return np.log(proba / (1 - proba))

    def probability(self, rows: list[dict]) -> np.ndarray:
        """Calibrated probability of default for each row of features."""
        if self.family == "logistic":
            return np.clip(self.calibrator.predict(self._linear(rows)), 1e-6, 1 - 1e-6)
        return self.estimator.predict_proba(to_frame(rows))[:, 1]

    def contributions(self, features: dict) -> dict[str, float]:
        """Each feature's push on the score versus the average applicant (sums to the gap)."""
        if self.family == "logistic":
            return self._linear_contributions(features)
        base = float(self.logit([features])[0])
        result = {}
        for name in self.features:  # occlusion: replace one feature with the reference
            probe = dict(features, **{name: self.reference[name]})
            result[name] = base - float(self.logit([probe])[0])
        return result

    def _linear(self, rows: list[dict]) -> np.ndarray:
        pre, lr = self.base.named_steps["pre"], self.base.named_steps["model"]
        return np.array([self._linear_one(row, pre, lr) for row in rows])

    def _linear_one(self, row: dict, pre, lr) -> float:
        scaler = pre.named_transformers_["num"]
        z = (np.array([row[n] for n in NUMERIC_NAMES]) - scaler.mean_) / scaler.scale_
        coefficients = lr.coef_[0]
        score = lr.intercept_[0] + float(z @ coefficients[: len(NUMERIC_NAMES)])
        return score + self._category_weight(row["purpose"], pre, coefficients)

    def _category_weight(self, value: str, pre, coefficients) -> float:
        encoder = pre.named_transformers_["cat"]
        categories = list(encoder.categories_[0])
        if value not in categories:
            return 0.0
        return float(coefficients[len(NUMERIC_NAMES) + categories.index(value)])

    def _linear_contributions(self, features: dict) -> dict[str, float]:
        pre, lr = self.base.named_steps["pre"], self.base.named_steps["model"]
        scaler = pre.named_transformers_["num"]
        coefficients = lr.coef_[0]
        result = {}
        for index, name in enumerate(NUMERIC_NAMES):
            z = (features[name] - scaler.mean_[index]) / scaler.scale_[index]
            result[name] = float(coefficients[index] * z)  # the training mean of z is 0
        weight = self._category_weight(features["purpose"], pre, coefficients)
        result["purpose"] = weight - self.reference["purpose_mean_weight"]
        return result


def to_frame(rows: list[dict]):
    """Rows of features as the DataFrame the sklearn pipeline was trained on."""
    import pandas as pd

    return pd.DataFrame(rows, columns=list(FEATURES))


# A reason must move the log-odds of default by at least this much (about 5 % on the odds):
# below it the factor is noise, and naming it as a principal reason would mislead.
MATERIAL_LOG_ODDS = 0.05


def reason_list(
    contributions: dict[str, float], features: dict, reference: dict, limit: int = 4
) -> list[dict]:
    """The factors that raised the risk most, as plain-language reasons.

    A factor is named only when it pushes the score toward default by a material amount
    *and* the applicant's value lies on its risky side of the average applicant (`reference`),
    so an $8,000 loan is never told its amount is large, nor 15 % debt-to-income that its
    debts are high, because of a model's quirk or an average that differs by a cent.
    """
    named = [
        (contribution, name)
        for name, contribution in contributions.items()
        if contribution >= MATERIAL_LOG_ODDS and _on_the_risky_side(name, features, reference)
    ]
    reasons = []
    for contribution, name in sorted(named, reverse=True)[:limit]:
        text = BY_NAME[name].reason
        if name == "purpose":
            text = f"Loan purpose ({features['purpose'].replace('_', ' ')}) carries higher risk"
        reasons.append({"code": name, "text": text, "contribution": round(contribution, 4)})
    return reasons


def _on_the_risky_side(name: str, features: dict, reference: dict) -> bool:
    direction = BY_NAME[name].direction
    if direction == 0 or name not in reference:  # a category: its weight says it all
        return True
    return direction * (features[name] - reference[name]) > 0
