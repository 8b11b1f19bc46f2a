"""The run's traffic light, so an operator knows in one glance whether to read on.

Rule (also printed in every report):
- red: miss rate (missed + dropped, over all items) above 1 %;
- amber: miss rate above 0.1 %, or more than 5 % of items degraded (deadlines held only by cheaper work);
- green: otherwise; grey when the run has no items at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RED_MISS_RATE = 0.01
AMBER_MISS_RATE = 0.001
AMBER_DEGRADED_RATE = 0.05
RULE = (f"red: miss rate > {RED_MISS_RATE:.1%}; amber: miss rate > {AMBER_MISS_RATE:.1%} "
        f"or degraded > {AMBER_DEGRADED_RATE:.0%}; green otherwise (miss rate = (missed + dropped) / items)")


@dataclass(frozen=True)
class RunVerdict:
    level: str  # green | amber | red | grey: also the CSS class
    headline: str  # a few words for the header
    reason: str  # the numbers that decided it


def verdict(end_to_end: dict[str, Any]) -> RunVerdict:
    """The verdict on a run from its end-to-end summary series."""
    count = end_to_end["count"]
    if count == 0:
        return RunVerdict("grey", "NO DATA", "the run recorded no items")
    miss_rate = end_to_end["miss_rate"]
    degraded_rate = end_to_end["degraded"] / count
    reason = f"miss rate {miss_rate:.2%}, degraded {degraded_rate:.1%}"
    if miss_rate > RED_MISS_RATE:
        return RunVerdict("red", "DEADLINES MISSED", reason)
    if miss_rate > AMBER_MISS_RATE or degraded_rate > AMBER_DEGRADED_RATE:
        return RunVerdict("amber", "AT RISK", reason)
    return RunVerdict("green", "DEADLINES HELD", reason)
