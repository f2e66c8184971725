"""Score an application: probability of default, grade, rate, fee and the principal reasons."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from app.risk import batch, grading, registry, rules
from app.risk.features import build_features
from app.risk.model import ModelBundle
from app.risk.reasons import reason_list


@dataclass(frozen=True)
class RiskScore:
    probability_of_default: float  # lifetime (term) PD
    grade: str | None  # "B3"; None when declined
    approved: bool
    interest_rate: Decimal | None  # percent
    origination_fee_rate: Decimal | None  # percent
    reasons: list[dict]  # the principal reasons, most important first
    model_version: str
    scorer: str  # "ml" or "rules"
    risk_score: int  # 300-850-style points: higher is safer
    features: dict = field(default_factory=dict)


@lru_cache(maxsize=4)
def load_model(version: str | None = None) -> ModelBundle:
    """The model `version` (default: the one shipped with the code), loaded once per process."""
    return registry.load(version or registry.default_version())


def score(
    application: Mapping,
    *,
    model: ModelBundle | None = None,
    use_ml: bool = True,
    term_months: int = 36,
) -> RiskScore:
    """Score one application (FeatureError for missing or impossible values)."""
    features = build_features(application)
    if not use_ml:
        pd, contributions, version = rules.probability(features)
        return _result(
            pd, rules.reasons(contributions, features), version, "rules", features, term_months
        )
    model = model or load_model()
    pd = float(model.probability([features])[0])
    reasons = reason_list(model.contributions(features), features, model.reference)
    return _result(pd, reasons, model.version, "ml", features, term_months)


def score_many(
    applications: list[Mapping],
    *,
    model: ModelBundle | None = None,
    term_months: int | list[int] = 36,
) -> batch.Batch:
    """Score many applications in one pass of array operations (app/risk/batch.py)."""
    return batch.score_many(applications, model or load_model(), term_months)


def _result(
    pd: float, reasons: list[dict], version: str, scorer: str, features: dict, term_months: int
) -> RiskScore:
    grade = grading.sub_grade(pd)
    rate = grading.interest_rate(pd, term_months) if grade else None
    approved = grade is not None and rate is not None
    if not approved and not reasons:
        reasons = [
            {"code": "overall_risk", "text": "Overall credit risk is too high", "contribution": 0}
        ]
    return RiskScore(
        probability_of_default=round(pd, 6),
        grade=grade if approved else None,
        approved=approved,
        interest_rate=rate if approved else None,
        origination_fee_rate=grading.origination_fee_percent(grade) if approved else None,
        reasons=reasons,
        model_version=version,
        scorer=scorer,
        risk_score=points(pd),
        features={k: (round(v, 6) if isinstance(v, float) else v) for k, v in features.items()},
    )


def points(pd: float) -> int:
    """A familiar points scale: 600 at 50:1 good:bad odds, 20 points to double the odds."""
    import math

    odds = (1 - pd) / pd
    return int(round(600 + 20 / math.log(2) * math.log(odds / 50)))
