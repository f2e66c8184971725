"""The platform's lending rules in one place (defaults from the anchors; config may change them)."""

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from app.models.loan import APPLICATION_LIMITS
from app.services.collections.steps import DEFAULT_STEPS, CollectionStep

D = Decimal


@dataclass(frozen=True)
class LendingPolicy:
    loan_terms: tuple[int, ...] = (36, 60)  # months a borrower may choose
    second_approval_above: Decimal = D("25000.00")  # larger loans need two admins to list
    # Who the adverse-action notices name as the creditor, and where to write to it.
    creditor_name: str = "CommunityLend, Inc."
    creditor_address: str = "100 Market Street, Suite 300, San Francisco, CA 94105"
    # Debts plus the new payment may take at most this share of income (LendingClub: 40 %).
    max_debt_to_income_percent: Decimal = D("40")
    # The level payment rounds up to the cent (LendingClub: the last payment is never the
    # largest); ROUND_HALF_EVEN is Fineract's convention.
    payment_rounding: str = ROUND_CEILING
    note_unit: Decimal = D("25.00")  # notes are bought in multiples of this
    minimum_investment: Decimal = D("25.00")
    max_investment_per_loan: Decimal = D("5000.00")  # one lender's cap in one loan
    confirm_investment_above: Decimal = D("500.00")  # larger investments ask "are you sure?"
    # A lender's notes may total at most this share of their declared net worth (LendingClub's
    # suitability standard: 10 %); with none declared they may not invest yet.
    suitability_percent_of_net_worth: Decimal = D("10")
    # The secondary market: a note is offered at a markup on its principal plus accrued
    # interest within this range (percent), and the seller pays the trading fee on the price.
    trade_markup_percent: tuple[Decimal, Decimal] = (D("-30"), D("15"))
    trading_fee_percent: Decimal = D("1")
    # The diversification view warns when one loan (or borrower) is more of a lender's notes.
    concentration_warning_percent: Decimal = D("5")
    listing_days: int = 14
    issue_threshold_percent: Decimal = D("70")  # an expiring listing still issues at or above this
    grace_days: int = 15  # no late fee up to here
    late_fee_floor: Decimal = D("15.00")
    late_fee_percent: Decimal = D("5")  # of the unpaid installment, once per installment
    default_after_days: int = 121
    charge_off_after_days: int = 150
    schedule_days_ahead: int = 365  # how far ahead a borrower may schedule a payment
    scheduled_payment_attempts: int = 3  # a declined scheduled payment: tried this many times
    retry_after_days: int = 3  # between those tries
    servicing_fee_percent: Decimal = D("1")  # of each note's share of each payment
    prepayment_fee_cap_months: int = 12  # first year: fee capped at 1% of the regular payment
    # Adjusted NAR: expected loss on the outstanding principal of notes in each status.
    expected_loss_percent: dict[str, Decimal] = field(
        default_factory=lambda: {
            "grace": D("25"),
            "late_16_30": D("50"),
            "late_31_120": D("70"),
            "default": D("85"),
        }
    )
    # Hardship plans (docs/lending-rules.md "Hardship plans").
    holiday_max_months: int = 3  # installments one payment holiday may defer
    holiday_every_months: int = 12  # at most one payment holiday in this many months
    holiday_interest: str = "capitalise"  # the holiday's interest: "capitalise" or "spread"
    hardship_max_term_months: int = 84  # a re-amortised loan's whole term, at most
    rate_reduction_max_months: int = 12
    # A settlement's lump sum: at least this percent of the payoff.
    settlement_floor_percent: Decimal = D("60")
    hardship_offer_days: int = 14  # an offered plan lapses unless accepted within this
    # Collections: the timeline the daily cycle runs (charge-off stays the step at
    # charge_off_after_days), how far ahead a promise to pay may fall, and the share of a
    # recovery a collection agency keeps on loans an admin sent to one (Bondora, LendingClub
    # use agencies at 15-35 %; nothing is taken from loans not sent).
    collection_steps: tuple[CollectionStep, ...] = DEFAULT_STEPS
    promise_window_days: int = 30
    collection_agency_fee_percent: Decimal = D("20")

    @property
    def loan_amounts(self) -> tuple[Decimal, Decimal]:
        """The smallest and largest amount a borrower may apply for."""
        low, high = APPLICATION_LIMITS["amount"]
        return D(low), D(high)

    def needs_confirmation(self, investment: Decimal) -> bool:
        """Whether an investment this large is shown back to the lender before it is made."""
        return investment > self.confirm_investment_above

    def suitability_limit(self, net_worth: Decimal | None) -> Decimal | None:
        """The most a lender's notes may total, from their declared net worth (None: none
        declared, so nothing yet)."""
        if net_worth is None:
            return None
        share = net_worth * self.suitability_percent_of_net_worth / 100
        return share.quantize(D("0.01"), rounding=ROUND_DOWN)

    def needs_second_approval(self, amount: Decimal) -> bool:
        """Whether a loan of `amount` waits for a second admin before it lists."""
        return amount > self.second_approval_above


DEFAULT_POLICY = LendingPolicy()
