"""Everything known about one run once its directory is read: the numbers every output format shares."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediagrid.metrics.recorder import END_TO_END
from mediagrid.report.events import Events, read_events
from mediagrid.report.live import LiveReport, live_report
from mediagrid.report.rundir import EVENTS, RunDir, load_run
from mediagrid.report.verdict import RunVerdict, verdict


@dataclass(frozen=True)
class RunReport:
    run: RunDir
    events: Events | None
    verdict: RunVerdict
    stage_order: list[str]  # pipeline order where events show it, else by name
    live: LiveReport | None = None  # the live feed's section; None for a run that read and wrote no live stream

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def summary(self) -> dict[str, Any]:
        return self.run.summary

    @property
    def snapshots(self) -> tuple[Path, ...]:
        return self.run.snapshots

    def series(self) -> list[tuple[str, dict[str, Any]]]:
        """End to end, then each stage: the rows of every table and the bars of every per-series plot."""
        stages = self.summary["stages"]
        return [(END_TO_END, self.summary["end_to_end"]), *((name, stages[name]) for name in self.stage_order)]

    def events_note(self) -> str:
        """Where the per-item plots came from, and what in events.jsonl had to be skipped."""
        if self.events is None:
            return f"No {EVENTS} in {self.path}: per-item plots (CDF, timeline) are empty."
        skipped = (f"; {self.events.skipped_lines} malformed line(s) skipped" if self.events.skipped_lines else "")
        return f"Per-item plots from {self.events.count:,} item(s) in {EVENTS}{skipped}."


def analyse(path: Path) -> RunReport:
    """Load and validate a run directory and stream its events once."""
    run = load_run(path)
    events = read_events(run.events) if run.events is not None else None
    seen = events.stage_order if events is not None else []
    stages = run.summary["stages"]
    order = [s for s in seen if s in stages] + sorted(s for s in stages if s not in seen)
    return RunReport(run=run, events=events, verdict=verdict(run.summary["end_to_end"]), stage_order=order,
                     live=live_report(run.summary))
