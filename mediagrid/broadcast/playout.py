"""When each frame of a live feed goes out: by its own PTS, not by a local timer.

The first picture fixes the mapping from the feed's clock to ours: it plays out ``delay`` after it arrived (the
jitter buffer), and every later picture plays out at that instant plus its PTS distance from the first. Frames
therefore leave at the pace the broadcaster's encoder stamped, network jitter up to ``delay`` is absorbed, and a
frame that arrives after its instant is late by exactly that much. A picture whose instant disagrees with its
arrival by more than ``max_skew`` (a new encoder session, a PTS jump, a wrap gone wrong) re-anchors the mapping
there: a counted discontinuity, not a stall or a burst.

Output frames get consecutive indices (a hole only where the node fell behind and passed pictures over), so the
encoder's timestamps stay continuous across discontinuities and feed loss. When no picture is due for ``gap`` after the
previous slot, the output goes on with a stand-in (the last picture held, or a slate) every period until the feed
returns; the caller counts those frames ``degraded``.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from mediagrid.runtime.clock import NS_PER_S

PTS_HZ = 90_000
T = TypeVar("T")


@dataclass(frozen=True)
class Slot(Generic[T]):
    """One output frame: ``item`` is the feed's picture, or None for a stand-in through a gap. ``pts`` is on the
    feed's (unwrapped) 90 kHz clock, extrapolated for a stand-in; ``due_ns`` is when it was meant to go out."""

    index: int
    pts: int
    due_ns: int
    item: T | None


@dataclass
class PlayoutCounts:
    played: int = 0
    late_skipped: int = 0  # pictures passed over because a newer one was already due (the node fell behind)
    stand_ins: int = 0
    discontinuities: int = 0
    gaps: int = 0


@dataclass
class _Pending(Generic[T]):
    pts: int
    due_ns: int
    item: T


@dataclass
class Playout(Generic[T]):
    """Feed pictures in with :meth:`push`, ask :meth:`poll` what to send now. Not thread-safe: one operator."""

    fps: float
    delay_ns: int
    gap_ns: int
    max_skew_ns: int = NS_PER_S
    counts: PlayoutCounts = field(default_factory=PlayoutCounts)

    def __post_init__(self) -> None:
        self.period_ns = round(NS_PER_S / self.fps)
        self._period_ticks = PTS_HZ / self.fps
        self._pending: deque[_Pending[T]] = deque()
        self._anchor: tuple[int, int] | None = None  # (pts, due_ns)
        self._last: Slot[T] | None = None
        self._in_gap = False
        self._resume = False  # a gap began: the next picture re-anchors the mapping

    def push(self, pts: int, arrival_ns: int, item: T) -> None:
        """A decoded picture from the feed, in decode order (display order for streams without B-frames)."""
        expected = arrival_ns + self.delay_ns
        skewed = self._anchor is not None and abs(self._due(pts) - expected) > self.max_skew_ns
        # after a gap the feed comes back on a fresh mapping: its first pictures would otherwise be due at once
        if self._anchor is None or skewed or self._resume:
            self._resume = False
            self.counts.discontinuities += skewed
            floor = self._last.due_ns + self.period_ns if self._last is not None else expected
            self._anchor = (pts, max(expected, floor))
        self._pending.append(_Pending(pts, self._due(pts), item))

    def _due(self, pts: int) -> int:
        anchor_pts, anchor_ns = self._anchor
        return anchor_ns + (pts - anchor_pts) * NS_PER_S // PTS_HZ

    def next_due_ns(self) -> int | None:
        """When :meth:`poll` will next have something to send (a picture or a stand-in), if known."""
        if self._pending:
            return self._pending[0].due_ns
        if self._last is not None:
            return self._last.due_ns + self.period_ns + (0 if self._in_gap else self.gap_ns)
        return None

    def poll(self, now_ns: int) -> tuple[Slot[T] | None, list[T]]:
        """The slot to send now (or None), and the pictures passed over because a newer one is due too."""
        due = [p for p in self._pending if p.due_ns <= now_ns]
        if due:
            for _ in due:
                self._pending.popleft()
            skipped = [p.item for p in due[:-1]]
            self.counts.late_skipped += len(skipped)
            newest = due[-1]
            self._in_gap = False
            self.counts.played += 1
            return self._slot(newest.pts, newest.due_ns, newest.item, len(skipped)), skipped
        if self._last is not None and not self._pending and now_ns >= self.next_due_ns():
            # the first stand-in is decided now, the gap's length after the last picture; later ones keep the grid
            due_ns = self._last.due_ns + self.period_ns if self._in_gap else now_ns
            if not self._in_gap:
                self.counts.gaps += 1
                self._resume = True
            self._in_gap = True
            self.counts.stand_ins += 1
            return self._slot(self._last.pts + round(self._period_ticks), due_ns, None), []
        return None, []

    def _slot(self, pts: int, due_ns: int, item: T | None, skipped: int = 0) -> Slot[T]:
        """The next index, leaving a hole only for pictures passed over: the output's timestamps run on through
        gaps (stand-ins) and discontinuities (re-anchoring) without a jump."""
        index = (self._last.index + 1 if self._last is not None else 0) + skipped
        self._last = Slot(index, pts, due_ns, item)
        return self._last
