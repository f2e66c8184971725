"""Auto-invest strategies: a lender's standing orders, checked, saved, and built from presets.

The sweep that runs them is `strategy_sweep`. A strategy's rules, in the order it applies them
to each loan: the loan's grade has a weight and its term is chosen; the grade is still under
its weight in what the strategy's lender holds; one note of `amount_per_note`, keeping the
lender's holding in the loan within `max_per_loan` (and the platform's cap) and within
`max_loan_share_percent` of their portfolio, their holding in the borrower within
`max_per_borrower`, and their cash above `cash_reserve` (and, when `reinvest_repayments` is
off, above what their notes paid back since the strategy began).
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Investment, InvestStrategy
from app.services.errors import DomainError, ValidationFailed
from app.services.platform import activity, outbox, risk_models
from app.services.policy import DEFAULT_POLICY, LendingPolicy

D = Decimal
GRADES = "ABCDE"


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    description: str
    grade_weights: dict[str, int]
    amount_per_note: Decimal
    max_per_loan: Decimal
    max_loan_share_percent: Decimal
    max_per_borrower: Decimal


PRESETS = {
    preset.key: preset
    for preset in (
        Preset(
            "conservative",
            "Conservative",
            "Mostly A, some B: the lowest default rates, the lowest interest.",
            {"A": 60, "B": 40},
            D("25.00"),
            D("50.00"),
            D("2.00"),
            D("100.00"),
        ),
        Preset(
            "balanced",
            "Balanced",
            "A to D, weighted to the middle grades.",
            {"A": 20, "B": 35, "C": 30, "D": 15},
            D("25.00"),
            D("75.00"),
            D("3.00"),
            D("150.00"),
        ),
        Preset(
            "higher_yield",
            "Higher yield",
            "B to E, weighted to C and D: more interest, and more loans that default.",
            {"B": 10, "C": 30, "D": 35, "E": 25},
            D("25.00"),
            D("50.00"),
            D("2.00"),
            D("100.00"),
        ),
    )
}


def default_rates(session: Session) -> dict[str, Decimal]:
    """Each grade's observed default rate in percent, from the active model's out-of-fold
    grade table (the loans it was trained on): what the presets show."""
    card = risk_models.sidecar(session, risk_models.active_version(session))
    rows = (card.get("oof") or {}).get("grades") or []
    return {
        row["grade"]: (D(str(row["bad_rate"])) * 100).quantize(D("0.1"))
        for row in rows
        if row["grade"] in GRADES
    }


def blended_rate(weights: dict[str, int], rates: dict[str, Decimal]) -> Decimal | None:
    """The weights' average default rate, or None when a grade has no figure."""
    if any(grade not in rates for grade in weights):
        return None
    return (sum(D(w) * rates[g] for g, w in weights.items()) / 100).quantize(D("0.1"))


def check(values: dict, policy: LendingPolicy = DEFAULT_POLICY) -> dict:
    """The strategy's fields, or ValidationFailed naming each one that breaks a rule."""
    errors = {}
    weights = {g: int(w) for g, w in (values.get("grade_weights") or {}).items() if int(w)}
    if not weights or any(g not in GRADES or w < 0 for g, w in weights.items()):
        errors["grade_weights"] = "Give at least one grade (A to E) a weight."
    elif sum(weights.values()) != 100:
        errors["grade_weights"] = (
            f"The weights must add up to 100 (they add up to {sum(weights.values())})."
        )
    note = values.get("amount_per_note") or D(0)
    if note < policy.minimum_investment or note % policy.note_unit:
        errors["amount_per_note"] = f"Notes are multiples of ${policy.note_unit:,.0f}."
    if (values.get("max_per_loan") or D(0)) < note:
        errors["max_per_loan"] = "The most in one loan must cover at least one note."
    if (values.get("max_per_borrower") or D(0)) < note:
        errors["max_per_borrower"] = "The most per borrower must cover at least one note."
    share = values.get("max_loan_share_percent") or D(0)
    if not D(0) < share <= 100:
        errors["max_loan_share_percent"] = "Give a share of your portfolio from 0.01 to 100 %."
    low, high = policy.trade_markup_percent
    if not low <= (values.get("max_markup_percent") or D(0)) <= high:
        errors["max_markup_percent"] = f"The markup must be between {low}% and {high}%."
    if (values.get("cash_reserve") or D(0)) < 0:
        errors["cash_reserve"] = "The reserve cannot be negative."
    if not (values.get("name") or "").strip():
        errors["name"] = "Name the strategy."
    if errors:
        raise ValidationFailed(errors)
    return values | {"grade_weights": weights, "name": values["name"].strip()[:80]}


def create(
    session: Session, lender_id: int, values: dict, policy: LendingPolicy = DEFAULT_POLICY
) -> InvestStrategy:
    strategy = InvestStrategy(lender_id=lender_id, **check(values, policy))
    session.add(strategy)
    session.flush()
    activity.record(session, "strategy.created", user_id=lender_id, entity=strategy)
    return strategy


def from_preset(session: Session, lender_id: int, key: str, **overrides) -> InvestStrategy:
    preset = PRESETS.get(key)
    if preset is None:
        raise DomainError("No such preset.")
    values = {
        "name": preset.name,
        "preset": preset.key,
        "grade_weights": dict(preset.grade_weights),
        "amount_per_note": preset.amount_per_note,
        "max_per_loan": preset.max_per_loan,
        "max_loan_share_percent": preset.max_loan_share_percent,
        "max_per_borrower": preset.max_per_borrower,
        "cash_reserve": D("0.00"),
        "max_markup_percent": D("0.00"),
    }
    return create(session, lender_id, values | overrides)


def update(
    session: Session, strategy: InvestStrategy, values: dict, policy: LendingPolicy = DEFAULT_POLICY
) -> InvestStrategy:
    current = {column: getattr(strategy, column) for column in EDITABLE}
    for column, value in check(current | values, policy).items():
        setattr(strategy, column, value)
    activity.record(session, "strategy.updated", user_id=strategy.lender_id, entity=strategy)
    session.flush()
    return strategy


EDITABLE = (
    "name",
    "enabled",
    "grade_weights",
    "terms",
    "amount_per_note",
    "max_per_loan",
    "max_loan_share_percent",
    "max_per_borrower",
    "cash_reserve",
    "buy_secondary",
    "max_markup_percent",
    "reinvest_repayments",
)


def of_lender(session: Session, lender_id: int) -> list[InvestStrategy]:
    return list(
        session.scalars(
            select(InvestStrategy)
            .where(InvestStrategy.lender_id == lender_id)
            .order_by(InvestStrategy.id)
        )
    )


def repaid(session: Session, lender_ids, dedupe_key: str) -> None:
    """Notes paid these lenders: run the reinvesting strategies among them (a job, after
    COMMIT). Nothing is queued when none of them reinvests."""
    reinvesting = session.scalars(
        select(InvestStrategy.lender_id)
        .where(
            InvestStrategy.enabled.is_(True),
            InvestStrategy.reinvest_repayments.is_(True),
            InvestStrategy.lender_id.in_(list(lender_ids)),
        )
        .distinct()
    ).all()
    if reinvesting:
        outbox.add(
            session,
            "auto_invest_lenders",
            {"lender_ids": sorted(reinvesting)},
            dedupe_key=dedupe_key,
        )


def notes_bought(session: Session, lender_id: int) -> dict[int, int]:
    """How many of the lender's notes each of their strategies bought, by strategy id."""
    return dict(
        session.execute(
            select(Investment.strategy_id, func.count())
            .where(Investment.lender_id == lender_id, Investment.strategy_id.is_not(None))
            .group_by(Investment.strategy_id)
        ).all()
    )


def owned(session: Session, lender_id: int, strategy_id: int) -> InvestStrategy:
    strategy = session.get(InvestStrategy, strategy_id)
    if strategy is None or strategy.lender_id != lender_id:
        raise DomainError("No such strategy of yours.")
    return strategy
