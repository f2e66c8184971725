"""A step of the collection timeline, as `LendingPolicy.collection_steps` lists them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CollectionStep:
    """`day`: days from the due date. Below zero, from each unpaid installment's (a reminder);
    from zero on, from the oldest unpaid installment's, i.e. the loan's days past due."""

    day: int
    name: str  # stored in collection_events.step (at most 40 characters)
    notify: bool = True  # the borrower hears (in the app and by email)
    task: bool = False  # opens the loan's task in the admins' queue, or moves it to this step


DEFAULT_STEPS = (
    CollectionStep(-3, "reminder"),
    CollectionStep(1, "day_1_notice", task=True),
    CollectionStep(7, "day_7_notice", task=True),
    CollectionStep(15, "day_15_notice", task=True),
    CollectionStep(30, "day_30_call", notify=False, task=True),  # the call is the contact
    CollectionStep(60, "final_notice", task=True),
)
