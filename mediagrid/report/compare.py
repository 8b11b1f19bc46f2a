"""Comparing two runs series by series, and the rule that calls a difference a regression.

Rule: a series (end to end, or one stage) regresses when
- its p99 grew by more than 10 % AND by more than 0.5 ms (both, so that noise on a sub-millisecond stage
  and a small relative change on a slow stage are not flagged), or
- its miss rate grew by more than 0.1 percentage point.
Only growth is flagged; a series present in one run only is noted, not flagged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediagrid.metrics.recorder import END_TO_END
from mediagrid.report.formatting import series_label

P99_GROWTH = 0.10
P99_GROWTH_MS = 0.5
MISS_RATE_GROWTH = 0.001  # 0.1 percentage point
RULE = (f"regression: p99 up by more than {P99_GROWTH:.0%} and more than {P99_GROWTH_MS} ms, "
        f"or miss rate up by more than {MISS_RATE_GROWTH * 100:.1f} percentage point")


@dataclass(frozen=True)
class SeriesDelta:
    """One series in both runs; ``base`` or ``new`` is None when the series exists in one run only."""

    name: str
    base: dict[str, Any] | None
    new: dict[str, Any] | None
    regressions: tuple[str, ...] = ()

    @property
    def result(self) -> str:
        """The row's verdict in the delta table."""
        if self.regressions:
            return "REGRESSION"
        return "only in base" if self.new is None else "only in new" if self.base is None else "ok"

    def delta(self, key: str) -> float | None:
        """``new - base`` of a summary field, None unless both runs have a value for it."""
        if self.base is None or self.new is None or self.base[key] is None or self.new[key] is None:
            return None
        return self.new[key] - self.base[key]


@dataclass(frozen=True)
class Comparison:
    rows: list[SeriesDelta]
    notes: list[str] = field(default_factory=list)  # differences worth a line that are not regressions

    @property
    def regressions(self) -> list[str]:
        return [r for row in self.rows for r in row.regressions]


def compare_summaries(base: dict[str, Any], new: dict[str, Any], stage_order: list[str]) -> Comparison:
    """Compare end to end first, then stages in ``stage_order`` (any others after it, by name)."""
    names = [*stage_order, *sorted((set(base["stages"]) | set(new["stages"])) - set(stage_order))]
    rows = [_row(END_TO_END, base["end_to_end"], new["end_to_end"])]
    rows += [_row(n, base["stages"].get(n), new["stages"].get(n)) for n in names]
    notes = [f"{series_label(row.name)}: only in the {'new' if row.base is None else 'base'} run"
             for row in rows if row.base is None or row.new is None]
    if base["app"] != new["app"]:
        notes.append(f"different apps: base {base['app']}, new {new['app']}")
    if base["device"] != new["device"]:
        notes.append(f"different devices: base {base['device']}, new {new['device']}")
    if base["end_to_end"]["deadline_ms"] != new["end_to_end"]["deadline_ms"]:
        notes.append(f"different deadlines: base {base['end_to_end']['deadline_ms']} ms, "
                     f"new {new['end_to_end']['deadline_ms']} ms")
    return Comparison(rows=rows, notes=notes)


def _row(name: str, base: dict[str, Any] | None, new: dict[str, Any] | None) -> SeriesDelta:
    if base is None or new is None:
        return SeriesDelta(name, base, new)
    found: list[str] = []
    label = series_label(name)
    if base["p99_ms"] is not None and new["p99_ms"] is not None:
        grew = new["p99_ms"] - base["p99_ms"]
        if grew > P99_GROWTH_MS and grew > P99_GROWTH * base["p99_ms"]:
            found.append(f"{label}: p99 {base['p99_ms']:.3f} -> {new['p99_ms']:.3f} ms "
                         f"(+{grew:.3f} ms, {_relative(grew, base['p99_ms'])})")
    grew = new["miss_rate"] - base["miss_rate"]
    if grew > MISS_RATE_GROWTH:
        found.append(f"{label}: miss rate {base['miss_rate']:.3%} -> {new['miss_rate']:.3%} (+{grew * 100:.3f} pp)")
    return SeriesDelta(name, base, new, tuple(found))


def _relative(delta: float, base: float) -> str:
    return f"{delta / base:+.1%}" if base else "from 0"
