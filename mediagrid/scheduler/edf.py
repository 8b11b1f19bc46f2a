"""Earliest-deadline-first queue with admission control for one server (one stage worker).

Under overload a FIFO queue makes every item late; EDF with admission turns the excess into counted,
cheap refusals at the door (``drop``, ``reuse``, or a ``degrade``d cheaper variant, per the use case's
policy) so that the items it accepts still meet their deadlines.

Admission is exact for the estimates given: an item is admitted when, served after the item in service and
every queued item with an earlier (or equal) deadline, it finishes by its deadline, *and* it does not push
any queued item with a later deadline that could still make it past that deadline. The common case, an
item whose deadline is the latest queued (every item with the same budget), is O(1); an item that jumps
ahead scans the queue once (O(n log n), n is bounded by budget / service time under admission).

Estimates are only estimates: an item that overran pushes the ones behind it, so :meth:`EDFQueue.pop`
re-checks the head and sheds, per the policy, items that can no longer finish in time, instead of
serving them late. Time is injected (``now_ns``); :meth:`EDFQueue.pop` means "the server starts the
returned item now".
"""
from __future__ import annotations

import heapq
import itertools
from collections import Counter
from typing import Generic, NamedTuple, TypeVar

from mediagrid.scheduler.deadline import Action, Deadline, Outcome, Policy, classify, decide

T = TypeVar("T")
# Enum attribute lookups cost a descriptor call each; the per-item path reads these module constants.
_RUN, _DEGRADE, _REUSE, _DROP = Action.RUN, Action.DEGRADE, Action.REUSE, Action.DROP


def admit(remaining_ns: int, estimate_ns: int, policy: Policy, degraded_estimate_ns: int | None = None) -> Action:
    """:func:`decide`, plus the one rule it leaves open: the cheaper variant must itself fit.

    ``degrade`` without a ``degraded_estimate_ns`` that fits in ``remaining_ns`` becomes ``drop``: a
    degraded item that finishes late is still a miss, so starting it would only waste the server.
    """
    action = decide(remaining_ns, estimate_ns, policy)
    if action is _DEGRADE and (degraded_estimate_ns is None or degraded_estimate_ns > remaining_ns):
        return _DROP
    return action


class Admission(NamedTuple):
    """The answer to :meth:`EDFQueue.offer`.

    ``action`` is ``run`` (queued as is), ``degrade`` (queued as the cheaper variant), or ``reuse`` /
    ``drop`` (refused: the caller hands on the last good result, or gives the item up, now). ``outcome`` is
    the refused item's outcome by :func:`classify`, None for a queued item (it ends when it is served).
    """

    action: Action
    outcome: Outcome | None
    finish_ns: int  # predicted finish of a queued item; ``now_ns`` for a refused one

    @property
    def admitted(self) -> bool:
        return self.outcome is None


class Job(NamedTuple, Generic[T]):
    """An item handed to the server by :meth:`EDFQueue.pop`; run the cheaper variant when ``degraded``."""

    item: T
    deadline: Deadline
    estimate_ns: int
    degraded: bool


class Shed(NamedTuple, Generic[T]):
    """An admitted item given up at the head of the queue: ``reuse`` or ``drop`` it, with this outcome."""

    item: T
    deadline: Deadline
    action: Action
    outcome: Outcome


class EDFQueue(Generic[T]):
    """EDF order, admission at :meth:`offer`, shedding at :meth:`pop`; refusals and sheds are counted.

    ``policy`` is the use case's ``deadlines.policy`` from its app config.
    """

    def __init__(self, policy: Policy | str = Policy.DROP) -> None:
        self.policy = Policy(policy)
        #: Outcomes of items this queue ended itself: refused at the door or shed at the head.
        self.counts: Counter[Outcome] = Counter()
        # (deadline_ns, seq, queued cost, degraded cost or None, degraded?, item, Deadline); seq keeps FIFO
        # order among equal deadlines and stops tuple comparison before the item.
        self._heap: list[tuple[int, int, int, int | None, bool, T, Deadline]] = []
        self._seq = itertools.count()
        self._work_ns = 0  # sum of queued costs
        self._latest_ns = 0  # latest queued deadline while the heap is not empty (pops take the earliest)
        self._busy_until_ns = 0  # predicted end of the item in service
        self._shed: list[Shed[T]] = []

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def work_ns(self) -> int:
        """Estimated work queued (not counting the item in service)."""
        return self._work_ns

    def head_deadlines(self, k: int) -> list[int]:
        """The ``k`` earliest queued deadlines in order, for :func:`mediagrid.scheduler.batcher.plan_batch`."""
        return [entry[0] for entry in heapq.nsmallest(k, self._heap)]

    def offer(
        self, item: T, deadline: Deadline, estimate_ns: int, now_ns: int, *, degraded_estimate_ns: int | None = None,
    ) -> Admission:
        """Queue ``item`` if it can finish in time without making an admitted item late; else apply the policy."""
        busy_until = self._busy_until_ns
        start = now_ns if now_ns > busy_until else busy_until
        due = deadline.deadline_ns
        if not self._heap or due >= self._latest_ns:
            ahead_end = start + self._work_ns
            room = due - ahead_end
        else:
            ahead_end, room = self._room_ahead(due, start)
        action = admit(room, estimate_ns, self.policy, degraded_estimate_ns)
        if action is _RUN or action is _DEGRADE:
            cost = estimate_ns if action is _RUN else degraded_estimate_ns
            assert cost is not None  # admit() returns DEGRADE only with a degraded estimate
            spare = None if action is _DEGRADE else degraded_estimate_ns
            heapq.heappush(self._heap, (due, next(self._seq), cost, spare, action is _DEGRADE, item, deadline))
            self._work_ns += cost
            if due > self._latest_ns or len(self._heap) == 1:
                self._latest_ns = due
            return Admission(action, None, ahead_end + cost)
        outcome = classify(now_ns, deadline, degraded=action is _REUSE, dropped=action is _DROP)
        self.counts[outcome] += 1
        return Admission(action, outcome, now_ns)

    def pop(self, now_ns: int) -> Job[T] | None:
        """The earliest-deadline item that can still finish in time, started now; None when none is left.

        Items ahead of it that cannot finish in time any more (even as the cheaper variant) are shed per the
        policy and collected for :meth:`take_shed`: never served late, never skipped for a later deadline.
        """
        heap = self._heap
        while heap:
            due, _, cost, spare, degraded, item, deadline = heapq.heappop(heap)
            self._work_ns -= cost
            action = admit(due - now_ns, cost, self.policy, spare)
            if action is _RUN or action is _DEGRADE:
                served = cost if action is _RUN else spare
                assert served is not None
                self._busy_until_ns = now_ns + served
                return Job(item, deadline, served, degraded or action is _DEGRADE)
            outcome = classify(now_ns, deadline, degraded=action is _REUSE, dropped=action is _DROP)
            self.counts[outcome] += 1
            self._shed.append(Shed(item, deadline, action, outcome))
        return None

    def take_shed(self) -> list[Shed[T]]:
        """Items shed since the last call, oldest first; the caller reuses or drops each as it says."""
        shed, self._shed = self._shed, []
        return shed

    def _room_ahead(self, due: int, start: int) -> tuple[int, int]:
        """When the queued work ahead of an item due at ``due`` ends, and the budget left to the item: its own
        slack, capped by the smallest slack of a later-deadline item that can still make it (those must
        stay on time)."""
        finish = start
        ahead_end = start
        later_slack: int | None = None
        for entry in sorted(self._heap):
            finish += entry[2]
            if entry[0] <= due:
                ahead_end = finish
            elif (slack := entry[0] - finish) >= 0 and (later_slack is None or slack < later_slack):
                later_slack = slack
        own = due - ahead_end
        return ahead_end, own if later_slack is None else min(own, later_slack)
