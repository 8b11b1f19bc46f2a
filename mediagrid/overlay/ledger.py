"""One outcome per telemetry message, recorded under the stage ``telemetry`` of the run summary.

A message is born at its Kafka timestamp with the ``deadlines.telemetry_ms`` budget and ends exactly once:

* skipped by the match state (late reading, stale, duplicate, other match): ``dropped`` at that moment;
* taken into the state: it rides with the next layer the renderer builds, and ends when the first frame
  composited with that layer (or a newer one) is finished: ``met`` or ``missed`` by its deadline, with
  the latency the brief asks for, Kafka timestamp to the first frame that shows it. Degraded frames, which
  leave the player graphics out, do not count as showing;
* still waiting when the run ends (no frame came after it): ``dropped``.

The frame path keeps the end-to-end series (``DEADLINE = "frame"``); telemetry lives in its own stage so
that neither kind of item hides the other's misses.
"""
from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable

from mediagrid.kafka.consumer import KafkaItem
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.scheduler.deadline import Deadline, Outcome
from mediagrid.overlay.state import TelemetryVerdict

STAGE = "telemetry"
#: The recorder keeps per-item stage latencies until the item's ``finish``, which telemetry never reaches
#: (the end-to-end series is the frames'); one shared key keeps that bookkeeping at one entry.
_RECORD_KEY = "telemetry"


class TelemetryLedger:
    """Thread-safe: the state, renderer and compositor operators may run on different scheduler threads."""

    def __init__(self, recorder: OutcomeRecorder, budget_ns: int) -> None:
        self.recorder = recorder
        self.budget_ns = budget_ns
        self.counts: Counter[str] = Counter({"shown_met": 0, "shown_missed": 0, "unshown": 0})
        self._waiting: deque[tuple[int, list[KafkaItem]]] = deque()  # (layer version, items), version order
        self._lock = threading.Lock()
        self._closed = False

    def deadline(self, item: KafkaItem) -> Deadline:
        return Deadline.from_budget(item.origin_ns, self.budget_ns)

    def skipped(self, item: KafkaItem, verdict: TelemetryVerdict, at_ns: int) -> None:
        with self._lock:
            self.counts[verdict.value] += 1
            self._record(item, at_ns, dropped=True)

    def taken(self, version: int, items: list[KafkaItem]) -> None:
        """``items`` went into the state that layer ``version`` draws."""
        with self._lock:
            if self._closed:
                self._unshown(items, None)
                return
            self._waiting.append((version, items))

    def shown(self, version: int, at_ns: int) -> int:
        """A frame showing layer ``version`` is finished at ``at_ns``; returns how many messages it ended."""
        ended = 0
        with self._lock:
            while self._waiting and self._waiting[0][0] <= version:
                _, items = self._waiting.popleft()
                for item in items:
                    outcome = self._record(item, at_ns)
                    self.counts[f"shown_{outcome.value}"] += 1
                ended += len(items)
        return ended

    def close(self, at_ns: int) -> None:
        """The run is over: what no frame showed ends as dropped, and so does anything taken later."""
        with self._lock:
            self._closed = True
            while self._waiting:
                self._unshown(self._waiting.popleft()[1], at_ns)

    def waiting(self) -> int:
        with self._lock:
            return sum(len(items) for _, items in self._waiting)

    def _unshown(self, items: Iterable[KafkaItem], at_ns: int | None) -> None:
        for item in items:
            self.counts["unshown"] += 1
            self._record(item, at_ns, dropped=True)

    def _record(self, item: KafkaItem, at_ns: int | None, *, dropped: bool = False) -> Outcome:
        return self.recorder.stage(STAGE, _RECORD_KEY, self.deadline(item), item.origin_ns, at_ns, dropped=dropped)
