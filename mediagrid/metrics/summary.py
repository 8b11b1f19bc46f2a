"""The run summary (``DIR/summary.json``), shaped exactly as docs/architecture.md (6.3) says."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.metrics.recorder import END_TO_END, OutcomeRecorder, Series

PERCENTILES = {"p50_ms": 50.0, "p99_ms": 99.0, "p999_ms": 99.9}


def summarize_series(series: Series, deadline_ms: float) -> dict[str, Any]:
    """Outcome counts, miss rate and latency percentiles of one series; percentiles are null when empty."""
    count = len(series.outcomes)
    tally = series.tally
    result: dict[str, Any] = {"count": count, **tally}
    result["miss_rate"] = round((tally["missed"] + tally["dropped"]) / count, 6) if count else 0.0
    result["deadline_ms"] = deadline_ms
    latencies = np.asarray(series.latency_ms, dtype=np.float64)
    for key, q in PERCENTILES.items():
        result[key] = round(float(np.percentile(latencies, q)), 4) if count else None
    result["max_ms"] = round(float(latencies.max()), 4) if count else None
    return result


def build_summary(
    *, app: str, config: str, device: str, started_at: str, duration_s: float,
    recorder: OutcomeRecorder, kafka: Mapping[str, int] | None = None, extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    series = recorder.series()
    end_to_end = series.pop(END_TO_END, Series())
    summary: dict[str, Any] = {
        "app": app,
        "config": config,
        "device": device,
        "started_at": started_at,
        "duration_s": round(duration_s, 3),
        "end_to_end": summarize_series(end_to_end, recorder.deadline_ms),
        # a stage is judged by the budget of the items it served (telemetry: its own), else the app's
        "stages": {name: summarize_series(s, s.budget_ms if s.budget_ms is not None else recorder.deadline_ms)
                   for name, s in sorted(series.items())},
        "kafka": {"consumed": 0, "produced": 0, "dead_lettered": 0, "committed": 0, **(kafka or {})},
    }
    if extra:
        summary.update(extra)
    return summary


def write_summary(summary: Mapping[str, Any], out_dir: Path) -> Path:
    """Write atomically, so a reader never sees half a summary (Ctrl-C can arrive at any time)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "summary.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
