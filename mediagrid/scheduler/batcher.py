"""Deadline-aware micro-batching: how many queued requests to serve now as one batch, or how long to wait.

A batch costs a fixed part (kernel launch, weights in cache) plus a part per item, so bigger batches raise
throughput; but every request in a batch finishes when the batch does. :func:`plan_batch` grows the batch
while the earliest deadline in the queue still allows the bigger batch, and flushes as soon as waiting for
one more request would make that deadline unreachable. Pure logic with the clock injected, so the node
scheduler, the simulator and the tests drive it alike.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BatchModel:
    """Service time of a batch of ``size`` items: ``fixed_ns + per_item_ns * size``.

    Take both numbers from the stage's :class:`~mediagrid.scheduler.estimators.ServiceTimeEstimator`\\ s at
    the quantile that admission uses (for example one estimator for batches of one and one for the time per
    extra item), so that a planned batch meets its deadline as often as a single admitted item does.
    """

    fixed_ns: int
    per_item_ns: int

    def __post_init__(self) -> None:
        if self.fixed_ns < 0 or self.per_item_ns < 0 or self.fixed_ns + self.per_item_ns <= 0:
            raise ValueError(f"a batch must take some time; got fixed {self.fixed_ns} ns, "
                             f"per item {self.per_item_ns} ns")

    def service_ns(self, size: int) -> int:
        return self.fixed_ns + self.per_item_ns * size


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What to do now with a queue in EDF order.

    ``hopeless``: the first requests, which cannot meet their deadline even alone; apply the use case's
    policy to them (reuse or drop). ``take``: how many of the next requests to serve now as one batch
    (0: wait). ``wait_until_ns``: with ``take == 0`` and requests queued, plan again at this time at the
    latest (sooner if a request arrives); None otherwise.
    """

    hopeless: int
    take: int
    wait_until_ns: int | None


def plan_batch(deadlines_ns: Sequence[int], now_ns: int, model: BatchModel, max_batch: int) -> BatchPlan:
    """Plan one batch for requests with these absolute deadlines, earliest first (EDF order).

    The batch always meets the earliest deadline among the requests it takes (so all of them), and is the
    largest batch that does, up to ``max_batch`` and the queue length. It waits for more requests only
    while the whole queue fits in one batch and the earliest deadline still allows one request more.
    """
    if max_batch < 1:
        raise ValueError(f"max_batch must be at least 1, got {max_batch}")
    alone = now_ns + model.service_ns(1)
    hopeless = 0
    while hopeless < len(deadlines_ns) and deadlines_ns[hopeless] < alone:
        hopeless += 1
    queued = len(deadlines_ns) - hopeless
    if queued == 0:
        return BatchPlan(hopeless, 0, None)
    earliest = deadlines_ns[hopeless]
    cap = min(queued, max_batch)
    room = earliest - now_ns - model.fixed_ns
    fits = cap if model.per_item_ns == 0 else min(cap, room // model.per_item_ns)
    if fits < queued or queued >= max_batch:
        return BatchPlan(hopeless, fits, None)  # cannot grow: bound by the deadline or full
    latest_start_for_more = earliest - model.service_ns(queued + 1)
    if now_ns >= latest_start_for_more:
        return BatchPlan(hopeless, fits, None)  # one more request would not fit: waiting gains nothing
    return BatchPlan(hopeless, 0, latest_start_for_more)
