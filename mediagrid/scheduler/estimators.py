"""Service-time estimates per stage, learned online from the items that stage has finished.

Admission control (:mod:`mediagrid.scheduler.edf`) and the deadline gate compare the budget left with a
high quantile of the stage's recent service times, so the estimate must follow drift (a hotter GPU, a
bigger model) and must cost almost nothing on the per-item path.

Design, from measurement (``perf/scheduler_overload.py`` times the hot path; numbers in
perf/results/scheduler_overload.md): a fixed window of the last ``window`` samples in a numpy ring.
:meth:`ServiceTimeEstimator.update` is one array store. The sorted copy that quantiles are read from is
rebuilt only when a quantile is asked for and ``refresh_every`` samples have arrived since (or 1/16 of all
samples, while there are few); the answer is kept until then, so asking again costs a comparison. One
rebuild sorts 1,024 samples, so a stage that updates and asks once per item pays only a small share of one
sort per item on average. The price is staleness: an estimate may ignore the newest ``refresh_every - 1``
samples. The P² algorithm has no such lag but costs many times an array store per update in pure Python
and cannot forget old samples; a window follows drift and matches ``numpy.quantile`` on the same samples
exactly.
"""
from __future__ import annotations

import math

import numpy as np

#: Quantile that admission uses unless told otherwise: one item in a hundred may overrun its estimate.
DEFAULT_QUANTILE = 0.99


class ServiceTimeEstimator:
    """Quantiles and mean of a stage's last ``window`` service times, in nanoseconds.

    Until the first sample arrives every estimate is ``prior_ns`` (for example the config's
    ``process_estimate_ms``), so a cold stage is neither admitted blindly nor refused everything.
    """

    __slots__ = ("prior_ns", "count", "_ring", "_next", "_window", "_refresh_every", "_stale", "_sorted", "_last")

    def __init__(self, *, window: int = 1024, prior_ns: int = 0, refresh_every: int = 64) -> None:
        if window < 1 or refresh_every < 1:
            raise ValueError("window and refresh_every must be at least 1")
        self.prior_ns = prior_ns
        self.count = 0  # every sample ever seen, not just the window
        self._ring = np.zeros(window, dtype=np.int64)
        self._next = 0
        self._window = window
        self._refresh_every = refresh_every
        self._stale = 0  # samples since the sorted copy was built
        self._sorted: list[int] = []
        self._last: tuple[float, int] | None = None  # (q, estimate) from the current sorted copy

    def update(self, service_ns: int) -> None:
        """Record one finished item's service time."""
        i = self._next
        self._ring[i] = service_ns
        self._next = i + 1 if i + 1 < self._window else 0
        self.count += 1
        self._stale += 1

    @property
    def size(self) -> int:
        """Samples in the window (at most ``window``)."""
        return min(self.count, self._window)

    @property
    def mean_ns(self) -> float:
        """Mean of the window, or the prior before any sample; not for the per-item path (it reads the window)."""
        return float(self._ring[: self.size].mean()) if self.count else float(self.prior_ns)

    def estimate_ns(self, q: float = DEFAULT_QUANTILE) -> int:
        """The ``q`` quantile of the window (linear interpolation, as ``numpy.quantile``), or the prior."""
        stale = self._stale
        if stale and (stale >= self._refresh_every or stale * 16 >= self.count):
            self._sorted = np.sort(self._ring[: self.size]).tolist()
            self._stale = 0
            self._last = None
        last = self._last
        if last is not None and last[0] == q:  # the per-item path: same q, window not re-sorted since
            return last[1]
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"a quantile must lie in [0, 1], got {q}")
        if self.count == 0:
            return self.prior_ns
        ordered = self._sorted
        position = q * (len(ordered) - 1)
        low = math.floor(position)
        value = ordered[-1] if low + 1 >= len(ordered) else round(
            ordered[low] + (ordered[low + 1] - ordered[low]) * (position - low))
        self._last = (q, value)
        return value


class EstimatorRegistry(dict[str, ServiceTimeEstimator]):
    """One estimator per stage name, made on first use with the registry's settings.

    Heartbeats and reports read :meth:`snapshot`; stages index the registry by their name.
    """

    def __init__(self, *, window: int = 1024, prior_ns: int = 0, refresh_every: int = 64) -> None:
        super().__init__()
        self._settings = {"window": window, "prior_ns": prior_ns, "refresh_every": refresh_every}

    def __missing__(self, stage: str) -> ServiceTimeEstimator:
        estimator = self[stage] = ServiceTimeEstimator(**self._settings)
        return estimator

    def snapshot(self, q: float = DEFAULT_QUANTILE) -> dict[str, dict[str, float]]:
        """Per stage: samples seen, window mean and the ``q`` quantile, in nanoseconds."""
        return {stage: {"count": e.count, "mean_ns": e.mean_ns, "estimate_ns": e.estimate_ns(q)}
                for stage, e in sorted(self.items())}
