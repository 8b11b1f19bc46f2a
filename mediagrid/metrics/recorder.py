"""Per-item latency and outcome recording: the only source that summaries and reports are built from.

Operators call :meth:`OutcomeRecorder.stage` when an item leaves a stage and :meth:`OutcomeRecorder.finish`
when the item reaches its one end-to-end outcome. Records are kept as compact columns in memory (an hour at
60 fps is 216k rows) and streamed to ``events.jsonl`` so a report can be rebuilt after the process is gone.
"""
from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from mediagrid.runtime.clock import now_ns, ns_to_ms
from mediagrid.scheduler.deadline import Deadline, Outcome, classify

END_TO_END = "end_to_end"
_EVENT_JSON = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY
#: Upper bounds (ms) of the live latency histogram: around the 16.7 ms frame, 200 ms request and 1 s
#: telemetry deadlines, so a scrape shows which side of its deadline each stage falls.
BUCKETS_MS: tuple[float, ...] = (0.5, 1, 2, 5, 10, 16.7, 25, 50, 100, 200, 500, 1000, 2500, 5000, 10000)


@dataclass
class Aggregate:
    """What a live scrape needs of a series, kept up to date as items arrive (no pass over the items)."""

    tally: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_MS) + 1))  # last: above all bounds
    sum_ms: float = 0.0

    def add(self, latency_ms: float, outcome: Outcome) -> None:
        self.tally[outcome.value] += 1
        self.buckets[bisect.bisect_left(BUCKETS_MS, latency_ms)] += 1
        self.sum_ms += latency_ms

    def copy(self) -> Aggregate:
        return Aggregate(dict(self.tally), list(self.buckets), self.sum_ms)


@dataclass
class Series:
    """Latencies and outcomes of one stage (or of the whole path), one entry per item."""

    latency_ms: list[float] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    live: Aggregate = field(default_factory=Aggregate)
    #: the longest budget among its items: a stage can serve another deadline than the app's end-to-end one
    #: (the overlay's telemetry: 1 s beside 20 ms frames), and the summary must judge it by its own
    budget_ms: float | None = None

    @property
    def tally(self) -> dict[str, int]:
        return self.live.tally

    def add(self, latency_ms: float, outcome: Outcome, budget_ms: float | None = None) -> None:
        self.latency_ms.append(latency_ms)
        self.outcomes.append(outcome)
        self.live.add(latency_ms, outcome)
        if budget_ms is not None and (self.budget_ms is None or budget_ms > self.budget_ms):
            self.budget_ms = budget_ms


class OutcomeRecorder:
    """Thread-safe: Kafka threads and scheduler threads record into the same run."""

    def __init__(self, deadline_ms: float, events_path: Path | None = None) -> None:
        self.deadline_ms = deadline_ms
        self.started_ns = now_ns()
        self._series: dict[str, Series] = defaultdict(Series)
        self._pending_stages: dict[Any, dict[str, float]] = {}
        self._lock = threading.Lock()
        self._events: IO[bytes] | None = None
        if events_path is not None:
            events_path.parent.mkdir(parents=True, exist_ok=True)
            self._events = events_path.open("wb", buffering=1 << 16)

    def stage(
        self, name: str, item_id: Any, deadline: Deadline, started_ns: int, finished_ns: int | None = None,
        *, degraded: bool = False, dropped: bool = False,
    ) -> Outcome:
        """Record one item's pass through stage ``name``; its stage outcome follows the item's deadline."""
        finished_ns = now_ns() if finished_ns is None else finished_ns
        outcome = classify(finished_ns, deadline, degraded=degraded, dropped=dropped)
        self._add_stages(item_id, deadline, [(name, ns_to_ms(finished_ns - started_ns), outcome)])
        return outcome

    def stage_path(self, item_id: Any, deadline: Deadline, names: tuple[str, ...], marks: tuple[int, ...], *,
                   degraded: bool = False) -> None:
        """Record consecutive stages of one item under one lock: stage ``names[i]`` ran from ``marks[i]`` to
        ``marks[i + 1]``. For a serving loop that times several stages per item, thousands of items a second."""
        self._add_stages(item_id, deadline, [(name, ns_to_ms(end - start), classify(end, deadline, degraded=degraded))
                                             for name, start, end in zip(names, marks, marks[1:])])

    def _add_stages(self, item_id: Any, deadline: Deadline, entries: list[tuple[str, float, Outcome]]) -> None:
        """(stage name, latency ms, outcome) of one item into the series and the item's pending event line."""
        budget_ms = ns_to_ms(deadline.budget_ns)
        with self._lock:
            pending = self._pending_stages.setdefault(item_id, {})
            for name, latency_ms, outcome in entries:
                self._series[name].add(latency_ms, outcome, budget_ms)
                pending[name] = round(latency_ms, 4)

    def finish(
        self, item_id: Any, deadline: Deadline, finished_ns: int | None = None,
        *, degraded: bool = False, dropped: bool = False, **fields: Any,
    ) -> Outcome:
        """Record the item's single end-to-end outcome, measured from its origin."""
        finished_ns = now_ns() if finished_ns is None else finished_ns
        outcome = classify(finished_ns, deadline, degraded=degraded, dropped=dropped)
        latency_ms = ns_to_ms(finished_ns - deadline.origin_ns)
        with self._lock:
            self._series[END_TO_END].add(latency_ms, outcome)
            stages = self._pending_stages.pop(item_id, {})
            if self._events is not None:
                event = {
                    "id": item_id,
                    "t_ms": round(ns_to_ms(deadline.origin_ns - self.started_ns), 3),
                    "outcome": outcome.value,
                    "latency_ms": round(latency_ms, 4),
                    "deadline_ms": round(ns_to_ms(deadline.budget_ns), 4),
                    "stages": stages,
                    **fields,
                }
                # orjson: at thousands of items a second the line costs a fifth of json.dumps's
                self._events.write(orjson.dumps(event, option=_EVENT_JSON))
        return outcome

    def series(self) -> dict[str, Series]:
        """A snapshot copy, safe to summarise while recording goes on."""
        with self._lock:
            return {name: Series(list(s.latency_ms), list(s.outcomes), s.live.copy(), s.budget_ms)
                    for name, s in self._series.items()}

    def aggregates(self) -> dict[str, Aggregate]:
        """Counts, histogram and sum per series: cheap at any size, for metrics scrapes and heartbeats."""
        with self._lock:
            return {name: s.live.copy() for name, s in self._series.items()}

    def counts(self, name: str = END_TO_END) -> dict[str, int]:
        """Outcome counts so far, cheap enough for a progress line or a heartbeat."""
        with self._lock:
            series = self._series.get(name)
            return dict(series.tally) if series else {o.value: 0 for o in Outcome}

    def close(self) -> None:
        with self._lock:
            if self._events is not None:
                self._events.close()
                self._events = None
