"""The auto-invest sweep: every enabled strategy, in a fair order, over the open listings
(and, for strategies that ask, the secondary market), placed set-based by `invest_many`.

Reads are a handful of grouped queries whatever the number of lenders; the plan is made in
memory, each order seeing those before it; `placement.invest_many` then places them all with
the same rules as a lender investing by hand (cash, per-loan cap, suitability, one key each).

Fair order: the strategy served longest ago goes first (never served: first of all), so no
lender is always first; a strategy that bought something moves to the back.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import InvestStrategy, ServicingStatus
from app.services.errors import DomainError
from app.services.lending import placement
from app.services.lending.autoinvest import LAST_NOTES_FLOOR, LAST_NOTES_SHARE
from app.services.money.money import ZERO
from app.services.policy import DEFAULT_POLICY, LendingPolicy
from app.services.trading import market, trades

D = Decimal


@dataclass
class Holdings:
    """One lender's notes as the sweep counts them (committed and active, at amount)."""

    total: Decimal = ZERO
    by_loan: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    by_borrower: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    by_grade: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, loan, amount: Decimal) -> None:
        self.total += amount
        self.by_loan[loan.id] += amount
        self.by_borrower[loan.borrower_id] += amount
        self.by_grade[loan.grade] += amount


@dataclass
class Listing:
    id: int
    borrower_id: int
    grade: str
    term_months: int
    amount: Decimal
    funded: Decimal


@dataclass
class Budget:
    """What one strategy may still spend in this run, and the portfolio size it plans for."""

    start: Decimal
    left: Decimal
    planned_total: Decimal

    @property
    def spent(self) -> Decimal:
        return self.start - self.left


@dataclass(frozen=True)
class SweepResult:
    primary: int
    secondary: int
    strategies: int


def sweep(
    session: Session,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
    loan_ids: list[int] | None = None,
    lender_ids: list[int] | None = None,
    secondary: bool = True,
) -> SweepResult:
    """Run the enabled strategies (of `lender_ids`, over `loan_ids`, when given)."""
    now = now or datetime.now(UTC)
    strategies = _strategies(session, lender_ids)
    if not strategies:
        return SweepResult(0, 0, 0)
    lenders = sorted({s.lender_id for s in strategies})
    held = _holdings(session, lenders)
    cash = _cash(session, lenders)
    kept = _kept_receipts(session, [s.id for s in strategies if not s.reinvest_repayments])
    listings = _open_listings(session, now, loan_ids)
    plan = _Plan(policy, held, cash, kept, listings)
    orders = [order for strategy in strategies for order in plan.primary(strategy)]
    placed = placement.invest_many(session, orders, policy, now) if orders else []
    bought = {o.strategy_id for o, r in zip(orders, placed, strict=True) if _ok(r)}
    secondary_bought = 0
    if secondary and loan_ids is None:
        secondary_bought, more = _secondary(session, strategies, plan, policy, now.date())
        bought |= more
    _served(session, bought, now)
    return SweepResult(sum(1 for r in placed if _ok(r)), secondary_bought, len(strategies))


def _ok(result) -> bool:
    return isinstance(result, placement.Note)


class _Plan:
    def __init__(self, policy, held, cash, kept, listings):
        self.policy, self.held, self.cash, self.kept = policy, held, cash, kept
        self.by_grade: dict[str, list[Listing]] = defaultdict(list)  # oldest first
        for listing in listings:
            self.by_grade[listing.grade].append(listing)
        self.budgets: dict[int, Budget] = {}
        self.lender_budgets: dict[int, list[Budget]] = defaultdict(list)

    def budget(self, strategy: InvestStrategy) -> Budget:
        """Cash above the reserve (and above repayments kept, when not reinvesting); a
        lender's strategies share their cash in the order they run."""
        if strategy.id not in self.budgets:
            lender = strategy.lender_id
            spent = sum((b.spent for b in self.lender_budgets[lender]), ZERO)
            free = self.cash.get(lender, ZERO) - spent
            left = max(free - strategy.cash_reserve - self.kept.get(strategy.id, ZERO), ZERO)
            budget = Budget(left, left, self.held[lender].total + left)
            self.budgets[strategy.id] = budget
            self.lender_budgets[lender].append(budget)
        return self.budgets[strategy.id]

    def primary(self, strategy: InvestStrategy) -> list[placement.Order]:
        """Grade by grade, oldest listing first, until the grade's weight or the cash is used:
        only listings a strategy could buy are looked at."""
        budget, note = self.budget(strategy), strategy.amount_per_note
        held = self.held[strategy.lender_id].by_grade
        orders = []
        for grade, weight in sorted(strategy.grade_weights.items()):
            target = budget.planned_total * D(weight) / 100
            for listing in self.by_grade.get(grade, ()):
                if budget.left < note or held[grade] + note > target:
                    break
                rule = self.why_buy(strategy, listing, budget)
                if rule is not None:
                    orders.append(self._take(strategy, listing, budget, rule))
        return orders

    def why_buy(self, strategy: InvestStrategy, loan, budget: Budget) -> str | None:
        """The rule that buys one note of `loan` for `strategy`, or None when one says no."""
        weight = D(strategy.grade_weights.get(loan.grade, 0))
        note = strategy.amount_per_note
        if not weight or (strategy.terms and loan.term_months not in strategy.terms):
            return None
        mine = self.held[strategy.lender_id]
        if mine.by_grade[loan.grade] + note > budget.planned_total * weight / 100:
            return None  # the grade has its share
        loan_cap = min(
            strategy.max_per_loan,
            self.policy.max_investment_per_loan,
            budget.planned_total * strategy.max_loan_share_percent / 100,
        )
        if mine.by_loan[loan.id] + note > loan_cap:
            return None
        if mine.by_borrower[loan.borrower_id] + note > strategy.max_per_borrower:
            return None
        if isinstance(loan, Listing):
            reserve = max(loan.amount * LAST_NOTES_SHARE, LAST_NOTES_FLOOR)
            if loan.amount - loan.funded - note < reserve:
                return None  # the last notes are for lenders choosing by hand
        return (
            f"Strategy “{strategy.name}”: grade {loan.grade} under its {weight:.0f}% weight"
            f"{f', {loan.term_months}-month term' if strategy.terms else ''}"
        )

    def _take(self, strategy, listing: Listing, budget: Budget, rule: str) -> placement.Order:
        note = strategy.amount_per_note
        held_before = self.held[strategy.lender_id].by_loan[listing.id]
        self.held[strategy.lender_id].add(listing, note)
        listing.funded += note
        budget.left -= note
        reserve = max(listing.amount * LAST_NOTES_SHARE, LAST_NOTES_FLOOR)
        if listing.amount - listing.funded - self.policy.note_unit < reserve:
            self.by_grade[listing.grade].remove(listing)  # full for strategies
        return placement.Order(
            strategy.lender_id,
            listing.id,
            note,
            f"strategy-{strategy.id}-{listing.id}-{held_before}",
            rule,
            strategy.id,
        )


def _strategies(session: Session, lender_ids) -> list[InvestStrategy]:
    query = (
        select(InvestStrategy)
        .where(InvestStrategy.enabled.is_(True))
        .order_by(InvestStrategy.last_served_at.asc().nulls_first(), InvestStrategy.id)
    )
    if lender_ids is not None:
        query = query.where(InvestStrategy.lender_id.in_(lender_ids))
    return list(session.scalars(query))


def _holdings(session: Session, lenders: list[int]) -> dict[int, Holdings]:
    held = defaultdict(Holdings)
    rows = session.execute(
        text(
            "SELECT i.lender_id, l.id, l.borrower_id, left(coalesce(l.risk_grade, '?'), 1), "
            "sum(i.amount) FROM investments i JOIN loans l ON l.id = i.loan_id "
            "WHERE i.lender_id = ANY(:ids) AND i.status IN ('committed', 'active') "
            "GROUP BY i.lender_id, l.id"
        ),
        {"ids": lenders},
    )
    for lender_id, loan_id, borrower_id, grade, amount in rows:
        held[lender_id].add(_Loan(loan_id, borrower_id, grade), amount)
    return held


@dataclass
class _Loan:
    """A loan as the holdings and the rules read it."""

    id: int
    borrower_id: int
    grade: str
    term_months: int = 0


def _cash(session: Session, lenders: list[int]) -> dict[int, Decimal]:
    return dict(
        session.execute(
            text(
                "SELECT owner_id, -balance FROM ledger_accounts "
                "WHERE kind = 'lender_cash' AND owner_id = ANY(:ids)"
            ),
            {"ids": lenders},
        ).all()
    )


def _kept_receipts(session: Session, strategy_ids: list[int]) -> dict[int, Decimal]:
    """What notes paid back since each strategy began (kept as cash when not reinvesting)."""
    if not strategy_ids:
        return {}
    return dict(
        session.execute(
            text(
                "SELECT s.id, sum(a.principal + a.interest + a.late_fee + a.recovery "
                "- a.servicing_fee - a.agency_fee) FROM invest_strategies s "
                "JOIN payment_allocations a ON a.lender_id = s.lender_id "
                "JOIN payments p ON p.id = a.payment_id AND p.created_at >= s.created_at "
                "WHERE s.id = ANY(:ids) GROUP BY s.id"
            ),
            {"ids": strategy_ids},
        ).all()
    )


def _open_listings(session: Session, now: datetime, loan_ids) -> list[Listing]:
    rows = session.execute(
        text(
            "SELECT id, borrower_id, left(coalesce(risk_grade, '?'), 1), term_months, amount, "
            "funded_amount FROM loans WHERE status = 'listed' AND funding_deadline > :now "
            "AND funded_amount < amount AND (CAST(:ids AS int[]) IS NULL OR id = ANY(:ids)) "
            "ORDER BY listed_at, id"
        ),
        {"now": now, "ids": loan_ids},
    )
    return [Listing(*row) for row in rows]


def _secondary(session, strategies, plan: _Plan, policy, today: date) -> tuple[int, set[int]]:
    """Strategies that buy on the secondary market take current notes at or under their
    markup, one purchase at a time (each its own savepoint: a refusal is skipped)."""
    buyers = [s for s in strategies if s.buy_secondary]
    if not buyers:
        return 0, set()
    wanted = market.MarketFilter(
        statuses=(ServicingStatus.CURRENT.value,),
        max_markup=max(s.max_markup_percent for s in buyers),
        limit=market.CANDIDATES,
    )
    offers = market.offers(session, wanted, today, policy)
    bought, served = 0, set()
    for strategy in buyers:
        budget = plan.budget(strategy)
        for offer in list(offers):
            rule = _secondary_rule(plan, strategy, offer, budget)
            if rule is None:
                continue
            try:
                trades.buy(
                    session,
                    buyer_id=strategy.lender_id,
                    listing_id=offer.listing_id,
                    expected_price=offer.quote.price,
                    expected_status=offer.status,
                    idempotency_key=f"strategy-{strategy.id}-listing-{offer.listing_id}",
                    today=today,
                    policy=policy,
                    strategy_id=strategy.id,
                    reason=rule,
                )
            except DomainError:
                continue
            offers.remove(offer)
            plan.held[strategy.lender_id].add(_loan_of(offer), offer.note_amount)
            budget.left -= offer.quote.price
            bought += 1
            served.add(strategy.id)
    return bought, served


def _loan_of(offer: market.Offer) -> _Loan:
    return _Loan(offer.loan_id, offer.borrower_id, offer.grade[0], offer.term_months)


def _secondary_rule(plan: _Plan, strategy, offer, budget: Budget) -> str | None:
    markup = offer.quote.markup_percent
    if offer.seller_id == strategy.lender_id or markup > strategy.max_markup_percent:
        return None
    if offer.quote.price > budget.left:
        return None
    rule = plan.why_buy(strategy, _loan_of(offer), budget)
    return f"{rule}; bought on the secondary market at {markup:+.2f}%" if rule else None


def _served(session: Session, strategy_ids: set[int], now: datetime) -> None:
    """Strategies that bought something go to the back of the next run (one array parameter,
    not one bound parameter per id)."""
    if strategy_ids:
        session.execute(
            text("UPDATE invest_strategies SET last_served_at = :now WHERE id = ANY(:ids)"),
            {"now": now, "ids": sorted(strategy_ids)},
        )
        session.expire_all()
