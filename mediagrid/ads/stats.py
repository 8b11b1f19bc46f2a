"""The ad insertion app's counters, kept apart from the operators that bump them so that a report, a test or
a benchmark reads them without Holoscan."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mediagrid.ads.plan import AdPlanner
from mediagrid.ads.scene import ContextCounts


@dataclass
class FrameCounts:
    """What the compositor did with the frames it saw."""

    composited: int = 0  # at least one creative drawn
    clean: int = 0  # no break active
    degraded: int = 0  # passed through unmodified because the budget was short
    skipped_fills: int = 0  # a creative whose slot does not fit the frame (the stream changed size)
    by_creative: dict[str, int] = field(default_factory=dict)  # frames each creative was on screen


@dataclass
class AvailCounts:
    """What filled the ad avails that a live feed's cues opened (decided once, at each avail's first frame)."""

    decided: int = 0  # an ads.decisions answer keyed by the avail's id had arrived
    fallback: int = 0  # no answer in time: the configured fallback creative
    unfilled: int = 0  # no answer and no fallback: the avail stayed clean
    frames: int = 0  # frames inside avails


@dataclass
class AdStats:
    """The app's counters, written as ``ad_insertion.json`` into the run directory when the graph stops."""

    frames: FrameCounts = field(default_factory=FrameCounts)
    avails: AvailCounts = field(default_factory=AvailCounts)
    planner: AdPlanner | None = None
    context: ContextCounts | None = None
    dead_letters: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"frames": asdict(self.frames), "avails": asdict(self.avails),
                "decisions": asdict(self.planner.counts) if self.planner else None,
                "dead_letters": self.dead_letters,
                "context": asdict(self.context) if self.context else None}


