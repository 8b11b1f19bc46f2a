"""Streaming ``events.jsonl`` into compact numpy columns.

A long run holds millions of lines, so nothing keeps the parsed dicts: each line adds one float32 latency
per stage it passed and one float64 origin time and one outcome code, about 20 bytes per item for a
three-stage pipeline. float32 keeps the recorder's four decimals for the millisecond range we plot.
Lines that do not parse (the last one of a run killed mid-write, for example) are counted and skipped: a
report on the rest is worth more than no report.
"""
from __future__ import annotations

import json
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mediagrid.metrics.recorder import END_TO_END
from mediagrid.scheduler.deadline import Outcome

#: Outcome codes in the ``outcome`` column, in the order that reports list them.
OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
_CODE = {name: code for code, name in enumerate(OUTCOMES)}


@dataclass
class Events:
    """Per-item columns of one run. ``latency_ms`` has ``END_TO_END`` plus one array per stage."""

    t_ms: np.ndarray  # origin of each item, relative to the run start
    outcome: np.ndarray  # int8 index into OUTCOMES
    end_to_end_ms: np.ndarray  # float32, aligned with t_ms and outcome
    stage_ms: dict[str, np.ndarray]  # float32 per stage; only the items that reached the stage
    stage_order: list[str]  # stages as items meet them (pipeline order), not alphabetical
    skipped_lines: int = 0

    @property
    def count(self) -> int:
        return len(self.outcome)

    def latencies(self, name: str) -> np.ndarray:
        """End-to-end latencies for ``END_TO_END``, else the stage's; empty for a stage never seen."""
        if name == END_TO_END:
            return self.end_to_end_ms
        return self.stage_ms.get(name, np.empty(0, dtype=np.float32))


def read_events(path: Path) -> Events:
    """Read every line of ``path`` once, keeping only the columns the report plots."""
    t_ms, outcome, e2e = array("d"), array("b"), array("f")
    stages: dict[str, array] = {}
    skipped = 0
    loads, code_of = json.loads, _CODE.get
    with path.open("r", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                event = loads(line)
                code = code_of(event["outcome"])
                if code is None:
                    raise ValueError(event["outcome"])
                t, latency, passed = float(event["t_ms"]), float(event["latency_ms"]), event.get("stages") or {}
                stage_latencies = [(str(name), float(ms)) for name, ms in passed.items()]
            except (ValueError, KeyError, TypeError, AttributeError):
                skipped += bool(line.strip())  # blank lines are not worth a warning
                continue
            t_ms.append(t)
            outcome.append(code)
            e2e.append(latency)
            for name, ms in stage_latencies:
                column = stages.get(name)
                if column is None:
                    column = stages[name] = array("f")
                column.append(ms)
    return Events(
        t_ms=np.frombuffer(t_ms, dtype=np.float64) if t_ms else np.empty(0),
        outcome=np.frombuffer(outcome, dtype=np.int8) if outcome else np.empty(0, dtype=np.int8),
        end_to_end_ms=np.frombuffer(e2e, dtype=np.float32) if e2e else np.empty(0, dtype=np.float32),
        stage_ms={name: np.frombuffer(col, dtype=np.float32) for name, col in stages.items()},
        stage_order=list(stages),  # dicts keep first-seen order, and items meet stages in pipeline order
        skipped_lines=skipped,
    )
