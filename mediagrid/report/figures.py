"""What each plot needs, reduced to a few thousand numbers whatever the run length.

The HTML must stay small for a run of millions of items, so nothing here is per item: latency
distributions become a quantile grid that is dense in the tail (where deadlines are missed), and the
timeline becomes fixed bins of at most :data:`MAX_BINS` whatever the run length.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from mediagrid.report.events import OUTCOMES, Events

#: Below this many items a CDF is drawn from every item, as exact steps.
EXACT_CDF_ITEMS = 2000
#: Timeline bin widths in seconds: one second where the run allows (operators think in per-second rates),
#: finer for runs under a minute so that they still get MIN_BINS bins, coarser when a long run would
#: otherwise need more than MAX_BINS.
SUB_SECOND_WIDTHS_S = (0.1, 0.2, 0.5)
BIN_WIDTHS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MIN_BINS = 60
MAX_BINS = 1800


def _probabilities(n: int) -> np.ndarray:
    """Cumulative probabilities to sample: even steps up to p99, then log steps down to one item."""
    body = np.linspace(0.0, 0.99, 397)
    tail = 1.0 - np.logspace(-2.0, math.log10(1.0 / n), 160)
    return np.concatenate([body, tail, [1.0]])


def cdf(latencies: np.ndarray) -> dict[str, list[float | None]] | None:
    """Points ``(x, p)`` with ``p`` = share of items at or below ``x`` ms; None for no items."""
    n = len(latencies)
    if n == 0:
        return None
    ordered = np.sort(latencies)
    if n <= EXACT_CDF_ITEMS:
        index = np.arange(n)
    else:
        index = np.unique(np.clip(np.ceil(_probabilities(n) * n).astype(np.int64) - 1, 0, n - 1))
    shares: list[float | None] = [round((int(i) + 1) / n, 7) for i in index]
    return {"x": _round(ordered[index]), "p": shares}


def bin_width_s(span_s: float) -> float:
    """The timeline's bin width for a run that spans ``span_s`` seconds (see BIN_WIDTHS_S)."""
    if span_s < MIN_BINS:
        return next((w for w in reversed(SUB_SECOND_WIDTHS_S) if span_s / w >= MIN_BINS), SUB_SECOND_WIDTHS_S[0])
    return next((w for w in BIN_WIDTHS_S if span_s / w <= MAX_BINS), math.ceil(span_s / MAX_BINS))


def timeline(events: Events, duration_s: float) -> dict[str, Any] | None:
    """Outcomes per time bin, plus each bin's nearest-rank p99 and max end-to-end latency.

    Items are binned by origin time, so a burst of misses lines up with the moment the items were born,
    which is what an operator correlates with other graphs.
    """
    if events.count == 0:
        return None
    span_s = max(duration_s, float(events.t_ms.max()) / 1000.0, 1e-3)
    width = bin_width_s(span_s)
    bins = math.ceil(span_s / width)
    index = np.clip((events.t_ms / (1000.0 * width)).astype(np.int64), 0, bins - 1)
    counts = {name: np.bincount(index[events.outcome == code], minlength=bins)
              for code, name in enumerate(OUTCOMES)}
    per_bin = np.bincount(index, minlength=bins)
    order = np.lexsort((events.end_to_end_ms, index))  # by bin, then by latency within the bin
    ordered = events.end_to_end_ms[order]
    starts = np.concatenate([[0], np.cumsum(per_bin)[:-1]])
    filled = per_bin > 0
    p99 = np.full(bins, np.nan)
    peak = np.full(bins, np.nan)
    p99[filled] = ordered[starts[filled] + np.ceil(0.99 * per_bin[filled]).astype(np.int64) - 1]
    peak[filled] = ordered[starts[filled] + per_bin[filled] - 1]
    return {
        "bin_s": width,
        "counts": {name: c.tolist() for name, c in counts.items()},
        "p99_ms": _round(p99),
        "max_ms": _round(peak),
    }


def _round(values: np.ndarray) -> list[float | None]:
    """JSON-ready: four decimals like the recorder, and null for an empty bin (NaN is not JSON)."""
    return [None if math.isnan(v) else round(v, 4) for v in values.astype(np.float64).tolist()]
