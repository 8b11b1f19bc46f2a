"""Deadlines, budgets and the outcome rules that every work item in mediagrid follows.

An item (frame, telemetry event, request, speech segment) is born with an origin time and an absolute
deadline on the node's monotonic clock. Before costly work a stage asks :func:`decide` whether the rest of
the budget still covers its service-time estimate; when the item finishes, :func:`classify` gives its one
outcome. Reports are built only from these outcomes, so the rules live here and nowhere else.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from mediagrid.runtime.clock import ms_to_ns, now_ns, ns_to_ms


class Outcome(str, enum.Enum):
    """How an item ended. ``missed`` means it finished, but after its deadline."""

    MET = "met"
    DEGRADED = "degraded"
    DROPPED = "dropped"
    MISSED = "missed"


class Policy(str, enum.Enum):
    """What a stage does when the remaining budget cannot cover its estimate (chosen per use case)."""

    DEGRADE = "degrade"  # run a cheaper variant of the stage
    REUSE = "reuse"  # hand on the last good result
    DROP = "drop"  # give the item up now, before spending more on it


class Action(str, enum.Enum):
    """A stage's decision for one item."""

    RUN = "run"
    DEGRADE = "degrade"
    REUSE = "reuse"
    DROP = "drop"


_POLICY_ACTION = {Policy.DEGRADE: Action.DEGRADE, Policy.REUSE: Action.REUSE, Policy.DROP: Action.DROP}


@dataclass(frozen=True, slots=True)
class Deadline:
    """An item's origin and absolute deadline, both in monotonic nanoseconds."""

    origin_ns: int
    deadline_ns: int

    @classmethod
    def from_budget(cls, origin_ns: int, budget_ns: int) -> Deadline:
        if budget_ns <= 0:
            raise ValueError(f"a deadline budget must be positive, got {budget_ns} ns")
        return cls(origin_ns, origin_ns + budget_ns)

    @classmethod
    def starting_now(cls, budget_ms: float) -> Deadline:
        return cls.from_budget(now_ns(), ms_to_ns(budget_ms))

    @property
    def budget_ns(self) -> int:
        return self.deadline_ns - self.origin_ns

    def remaining_ns(self, at_ns: int | None = None) -> int:
        """Budget left at ``at_ns`` (now by default); negative once the deadline has passed."""
        return self.deadline_ns - (now_ns() if at_ns is None else at_ns)

    def elapsed_ms(self, at_ns: int | None = None) -> float:
        return ns_to_ms((now_ns() if at_ns is None else at_ns) - self.origin_ns)


def decide(remaining_ns: int, estimate_ns: int, policy: Policy) -> Action:
    """Run the stage if the estimate fits in what is left of the budget, else apply the policy."""
    if estimate_ns <= remaining_ns:
        return Action.RUN
    return _POLICY_ACTION[Policy(policy)]


def classify(finished_ns: int, deadline: Deadline, *, degraded: bool = False, dropped: bool = False) -> Outcome:
    """The single outcome of an item. Lateness wins over degradation: a late degraded item is a miss."""
    if dropped:
        return Outcome.DROPPED
    if finished_ns > deadline.deadline_ns:
        return Outcome.MISSED
    return Outcome.DEGRADED if degraded else Outcome.MET
