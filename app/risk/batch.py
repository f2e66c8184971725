"""Scoring many applications at once: what `predict.score` gives one by one (probability of
default, grade, rate, the principal reasons), computed as arrays, for imports and sweeps.

Every step is a whole-column operation: the application fields become float columns, the
features and the model's log-odds are array arithmetic, each feature's push on the score is
one matrix, and the reasons are that matrix masked (material, and the applicant on the risky
side) and ranked per row. Rows that cannot be scored get the same messages `build_features`
gives and no score. `tests/unit/test_batch_scoring.py` holds it to the one-by-one path.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from app.risk import grading
from app.risk.features import RANGES, REQUIRED, FeatureError, build_features, derive
from app.risk.model import ModelBundle
from app.risk.reasons import MATERIAL_LOG_ODDS, WORDING, reason_text, worded
from app.risk.schema import BY_NAME, FEATURES, PLATFORM_PURPOSE, PURPOSES

REASONS_KEPT = 4
QUARTER = Decimal("0.25")
OVERALL_RISK = {
    "code": "overall_risk",
    "text": "Overall credit risk is too high",
    "contribution": 0,
}


@dataclass(frozen=True)
class Batch:
    """Scores by row, in the applications' order; a row in `errors` has NaN and no grade."""

    probability_of_default: np.ndarray
    grades: list[str | None]  # None: declined (or not scored)
    rate_steps: np.ndarray  # the APR in quarter percents; 0 when declined
    reason_codes: np.ndarray  # (rows, 4) indexes into FEATURES, -1 after the last reason
    reason_weights: np.ndarray  # (rows, 4) each reason's push on the log-odds
    purposes: list[str]
    reference: dict  # the typical applicant the reasons compare with
    errors: dict[int, dict[str, str]]
    features: dict  # the model's features as columns (name → array), as scored

    def __len__(self) -> int:
        return len(self.grades)

    def every_feature_row(self) -> list[dict]:
        """Each row's features as `predict.score` records them (floats to six places)."""
        numeric = [name for name in FEATURES if name != "purpose"]
        columns = [np.round(np.asarray(self.features[name], float), 6).tolist() for name in numeric]
        return [
            {**dict(zip(numeric, values, strict=True)), "purpose": purpose}
            for values, purpose in zip(zip(*columns, strict=True), self.purposes, strict=True)
        ]

    def approved(self, row: int) -> bool:
        return self.grades[row] is not None

    def interest_rate(self, row: int) -> Decimal | None:
        if not self.approved(row):
            return None
        return (int(self.rate_steps[row]) * QUARTER).quantize(Decimal("0.001"))

    def reasons(self, row: int) -> list[dict]:
        """The principal reasons of one row as `predict.score` words them."""
        return self.every_reason(slice(row, row + 1))[0]

    def every_reason(self, rows: slice = slice(None)) -> list[list[dict]]:
        """`reasons` for every row at once: each distinct number is worded once per feature,
        and the arrays leave numpy once, as Python lists."""
        codes = self.reason_codes[rows]
        texts = self._texts(codes, rows).tolist()
        weights = self.reason_weights[rows].round(4).tolist()
        every = []
        for row, row_codes, row_texts, row_weights in zip(
            range(len(self))[rows], codes.tolist(), texts, weights, strict=True
        ):
            reasons = [
                {"code": FEATURES[code], "text": text, "contribution": weight}
                for code, text, weight in zip(row_codes, row_texts, row_weights, strict=True)
                if code >= 0
            ]
            if not reasons and self.grades[row] is None and row not in self.errors:
                reasons = [OVERALL_RISK]
            every.append(reasons)
        return every

    def _texts(self, codes: np.ndarray, rows: slice) -> np.ndarray:
        """Each reason's words, where `codes` are the reason codes of `rows`."""
        texts = np.full(codes.shape, None, dtype=object)
        for index, name in enumerate(FEATURES):
            where = codes == index
            if not where.any():
                continue
            owners = np.nonzero(where)[0]  # each of these reasons' row, in texts[where]'s order
            if name == "purpose":
                purposes = self.purposes[rows]
                texts[where] = [reason_text(name, purposes[owner], None) for owner in owners]
            elif name in WORDING and name in self.reference:
                values = np.asarray(self.features[name], dtype=float)[rows][owners]
                texts[where] = _worded_column(name, values, self.reference[name])
            else:
                texts[where] = BY_NAME[name].reason
        return texts


def _worded_column(name: str, values: np.ndarray, typical: float) -> list[str]:
    """`reasons.reason_text` for a column of one feature's values, wording each whole number
    once; a value that rounds to the typical one is worded alone (it needs more decimals)."""
    shown, usual = WORDING[name].shown(values), WORDING[name].shown(typical)
    whole = np.rint(shown)
    alone = whole == np.rint(usual)
    numbers, inverse = np.unique(np.where(alone, usual, whole), return_inverse=True)
    table = [worded(name, number, usual) for number in numbers.tolist()]
    texts = [table[i] for i in inverse.tolist()]
    for position in np.flatnonzero(alone).tolist():
        texts[position] = worded(name, shown[position], usual)
    return texts


def score_many(
    applications: Sequence[Mapping], model: ModelBundle, term_months: int | Sequence[int] = 36
) -> Batch:
    """Score every application in one pass of array operations."""
    columns, purposes, errors = _columns(applications)
    features = _features(columns, purposes)
    scored = np.array([row not in errors for row in range(len(applications))], dtype=bool)
    pd = np.full(len(applications), np.nan)
    contributions = np.zeros((len(applications), len(FEATURES)))
    if scored.any():
        chosen = {name: values[scored] for name, values in features.items()}
        pd[scored] = model.probability_matrix(chosen)
        contributions[scored] = model.contribution_matrix(chosen)
    terms = np.broadcast_to(np.asarray(term_months, dtype=float), pd.shape)
    grades, steps = _grades_and_rates(pd, terms)
    codes, weights = _reasons(contributions, features, model.reference)
    codes[~scored] = -1
    return Batch(pd, grades, steps, codes, weights, purposes, model.reference, errors, features)


def _columns(applications: Sequence[Mapping]) -> tuple[dict, list[str], dict]:
    """The numeric fields as float columns (NaN where missing), the purposes mapped onto the
    model's categories, and the rows that cannot be scored with `build_features`' messages."""
    columns = {name: _floats([a.get(name) for a in applications]) for name in RANGES}
    given = [a.get("purpose") for a in applications]
    purposes = [PLATFORM_PURPOSE.get(str(p), p) for p in given]
    bad = np.zeros(len(applications), dtype=bool)
    for name, (low, high) in RANGES.items():
        values = columns[name]
        missing = np.isnan(values)
        with np.errstate(invalid="ignore"):
            outside = ~missing & ~((values >= low) & (values <= high))
        bad |= outside | (missing & (name in REQUIRED))
    bad |= np.array([p in (None, "") or p not in PURPOSES for p in purposes], dtype=bool)
    return (
        columns,
        purposes,
        {int(row): _messages(applications[row]) for row in np.flatnonzero(bad)},
    )


def _floats(values: list) -> np.ndarray:
    try:
        return np.array(values, dtype=float)  # None → NaN; numbers, Decimals, numeric text
    except (TypeError, ValueError):
        return np.array([_float(value) for value in values], dtype=float)


def _float(value) -> float:
    try:
        return float(Decimal(str(value))) if value not in (None, "") else np.nan
    except (ArithmeticError, ValueError):
        return np.nan


def _messages(application: Mapping) -> dict[str, str]:
    try:
        build_features(application)
    except FeatureError as error:
        return error.errors
    raise AssertionError("a row the batch refused scores one by one")  # noqa: TRY003


def _features(columns: dict, purposes: list[str]) -> dict:
    """`build_features`, column-wise: the same formula, with numpy's logarithms."""
    with np.errstate(all="ignore"):  # rows with errors hold NaN; they are never scored
        features = derive(columns, np.log, np.log1p)
    features["purpose"] = np.array(purposes, dtype=object)
    return features


def _grades_and_rates(pd: np.ndarray, terms: np.ndarray) -> tuple[list, np.ndarray]:
    """`grading.sub_grade` and `grading.interest_rate` for every row."""
    highs = np.array([band[2] for band in grading.GRADE_BANDS])
    lows = np.array([band[1] for band in grading.GRADE_BANDS])
    valid = ~np.isnan(pd) & (pd < grading.DECLINE_PD)
    safe = np.where(valid, pd, 0.1)
    band = np.minimum(np.searchsorted(highs, safe, side="right"), len(highs) - 1)
    low, high = lows[band], highs[band]
    step = (_logit(high) - _logit(low)) / 5
    within = np.minimum(5, np.floor_divide(_logit(safe) - _logit(low), step) + 1)
    within = np.where(safe < low, 1, within).astype(int)
    pricing = grading.PRICING
    apr = grading.apr_percent(safe, terms, pricing)
    steps = np.ceil(apr / float(pricing.step_percent)).astype(int)
    priced = valid & (steps * float(pricing.step_percent) <= float(pricing.cap_percent))
    steps = np.where(priced, steps, 0)
    names = [
        grading.SUB_GRADES[5 * b + w - 1]
        for b, w in zip(band.tolist(), within.tolist(), strict=True)
    ]
    return [name if ok else None for name, ok in zip(names, priced.tolist(), strict=True)], steps


def _logit(p):
    return np.log(p / (1 - p))


def _reasons(contributions: np.ndarray, features: dict, reference: dict) -> tuple:
    """Per row, the up to four features that push toward default materially while the
    applicant's value sits on their risky side, largest first (`model.reason_list`)."""
    named = contributions >= MATERIAL_LOG_ODDS
    for index, name in enumerate(FEATURES):
        direction = BY_NAME[name].direction
        if direction != 0 and name in reference:
            with np.errstate(invalid="ignore"):
                named[:, index] &= direction * (features[name] - reference[name]) > 0
    ranked = np.where(named, contributions, -np.inf)
    order = np.argsort(-ranked, axis=1, kind="stable")[:, :REASONS_KEPT]
    weights = np.take_along_axis(ranked, order, axis=1)
    codes = np.where(np.isfinite(weights), order, -1)
    return codes, np.where(codes >= 0, weights, 0.0)
