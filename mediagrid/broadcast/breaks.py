"""The break book: SCTE-35 cues, as they arrive, turned into ad breaks on the feed's timeline.

Broadcasters repeat cues, send them late, cancel them and sometimes never send the return; the book absorbs all of
that, so the app only asks "which break holds this frame?" and re-plans when :attr:`BreakBook.version` moves.
The timeline is the feed reader's: 90 kHz ticks unwrapped to an unbounded count, while a cue's splice time is a
33-bit value, placed at the unwrapped tick nearest the frame being read when the cue arrived.
"""
from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from mediagrid.broadcast.scte35 import PTS_MODULUS, TICKS_PER_S, Cue

#: How :meth:`BreakBook.on_cue` took a cue. opened: a break from a future splice time; immediate: from now;
#: late: its splice time has passed but not its end, so from now; stale: already over, ignored; repeated: a re-sent
#: cue (or a return for a break that is over), ignored; closed: a return ends its break; orphan_return: a return
#: for no known break; cancelled: a future break removed or a running one ended now; cancel_unknown: nothing to
#: cancel.
Outcome = Literal["opened", "immediate", "late", "stale", "repeated", "closed", "orphan_return", "cancelled",
                  "cancel_unknown"]


def unwrap_pts(pts33: int, near: int) -> int:
    """The tick congruent to ``pts33`` modulo 2**33 that lies nearest ``near`` (an unwrapped tick)."""
    half = PTS_MODULUS // 2
    return near + (pts33 - near + half) % PTS_MODULUS - half


@dataclass(frozen=True)
class Break:
    """One ad break. ``end_pts`` None: open, waiting for its return cue (or for ``max_break_s``)."""

    break_id: str
    start_pts: int
    end_pts: int | None
    planned_duration_s: float | None
    auto_return: bool
    out_cue: Cue
    in_cue: Cue | None

    def holds(self, pts: int) -> bool:
        """Whether the frame at ``pts`` is in the break (start inclusive, end exclusive)."""
        return self.start_pts <= pts and (self.end_pts is None or pts < self.end_pts)

    def ended_by(self, pts: int) -> bool:
        """Whether the break has ended by ``pts``."""
        return self.end_pts is not None and self.end_pts <= pts


@dataclass
class CueCounts:
    """How each cue was taken (one field per :data:`Outcome`), plus breaks ended by ``max_break_s``; for the
    run summary, where a run of ``orphan_return`` or ``stale`` says the cues and the video disagree."""

    opened: int = 0
    immediate: int = 0
    late: int = 0
    stale: int = 0
    repeated: int = 0
    closed: int = 0
    orphan_return: int = 0
    cancelled: int = 0
    cancel_unknown: int = 0
    no_return: int = 0


class BreakBook:
    """Known breaks by event id, the newest ``keep`` of them. Not thread-safe: one reader feeds it, in order."""

    def __init__(self, *, max_break_s: float, keep: int = 64) -> None:
        if not max_break_s > 0:
            raise ValueError(f"max_break_s must be positive, got {max_break_s}")
        self.max_break_ticks = round(max_break_s * TICKS_PER_S)
        self.keep = keep
        self.counts = CueCounts()
        self.version = 0
        self._by_event: OrderedDict[int, Break] = OrderedDict()

    @property
    def breaks(self) -> tuple[Break, ...]:
        """The known breaks, in the order they were opened."""
        return tuple(self._by_event.values())

    def active(self, pts: int) -> Break | None:
        """The break holding ``pts``; of overlapping ones, the one that started last."""
        holding = [b for b in self._by_event.values() if b.holds(pts)]
        return max(holding, key=lambda b: b.start_pts) if holding else None

    def on_cue(self, cue: Cue, now_pts: int) -> Outcome:
        """Take one cue that arrived while the frame at ``now_pts`` was read; the outcome is also counted."""
        if cue.kind == "out":
            outcome = self._out(cue, now_pts)
        elif cue.kind == "in":
            outcome = self._in(cue, now_pts)
        else:
            outcome = self._cancel(cue, now_pts)
        setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
        return outcome

    def expire(self, now_pts: int) -> list[Break]:
        """End the open breaks that have lasted ``max_break_s`` (their return cue was lost); returns them."""
        ended = [dataclasses.replace(b, end_pts=b.start_pts + self.max_break_ticks)
                 for b in self._by_event.values()
                 if b.end_pts is None and now_pts >= b.start_pts + self.max_break_ticks]
        for brk in ended:
            self._by_event[brk.out_cue.event_id] = brk
        self.counts.no_return += len(ended)
        if ended:
            self.version += 1
        return ended

    def _out(self, cue: Cue, now_pts: int) -> Outcome:
        known = self._by_event.get(cue.event_id)
        if known is not None and (not known.ended_by(now_pts) or known.out_cue.splice_pts == cue.splice_pts):
            return "repeated"
        if cue.splice_pts is None:
            outcome, start = "immediate", now_pts
        else:
            start = unwrap_pts(cue.splice_pts, now_pts)
            outcome = "opened" if start >= now_pts else "late"
        end = start + round(cue.duration_s * TICKS_PER_S) if cue.auto_return and cue.duration_s else None
        if outcome == "late" and (start + self.max_break_ticks if end is None else end) <= now_pts:
            return "stale"
        self._by_event.pop(cue.event_id, None)  # a reused event id: the new break goes to the newest end
        self._store(Break(break_id=f"scte35-{cue.event_id}", start_pts=max(start, now_pts), end_pts=end,
                          planned_duration_s=cue.duration_s, auto_return=cue.auto_return, out_cue=cue, in_cue=None))
        return outcome

    def _in(self, cue: Cue, now_pts: int) -> Outcome:
        known = self._by_event.get(cue.event_id)
        if known is None:
            return "orphan_return"
        if known.in_cue is not None or known.ended_by(now_pts):
            return "repeated"  # a re-sent return, or one for a break that already ended by itself
        end = now_pts if cue.splice_pts is None else unwrap_pts(cue.splice_pts, now_pts)
        self._store(dataclasses.replace(known, end_pts=max(end, known.start_pts), in_cue=cue))
        return "closed"

    def _cancel(self, cue: Cue, now_pts: int) -> Outcome:
        known = self._by_event.get(cue.event_id)
        if known is None or known.ended_by(now_pts):
            return "cancel_unknown"
        if known.start_pts > now_pts:
            del self._by_event[cue.event_id]
            self.version += 1
        else:
            self._store(dataclasses.replace(known, end_pts=now_pts))
        return "cancelled"

    def _store(self, brk: Break) -> None:
        """Add a break, or update one in place, and drop the oldest beyond ``keep``."""
        self._by_event[brk.out_cue.event_id] = brk
        while len(self._by_event) > self.keep:
            self._by_event.popitem(last=False)
        self.version += 1
