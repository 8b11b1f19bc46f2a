"""Live translation, part 4: the delayed program timeline (pure logic, no I/O).

The output is the source delayed by a fixed program delay. Its soundtrack is released in order, sample by
sample, as wall time passes the delay; when the release reaches a segment (``lead_s`` before its start
pts), the segment is decided once, with what has arrived by its due time:

* ``dubbed``: the dub is laid in at exactly the segment's start pts and the original is muted under it;
* ``captions_only``: the translation arrived but not the dub: the cue is shown over the original audio;
* ``passthrough``: neither arrived (or a stage failed): the original plays, without a cue;
* ``no_speech``: the recogniser found no words: the original plays.

Cues and dubs are placed by pts, never by arrival time, which is what keeps them in sync with the video.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from mediagrid.runtime.clock import NS_PER_S
from mediagrid.speech.audio import SampleFifo
from mediagrid.speech.items import ProgramChunk, ProgramPlan, Segment


class Mode(str, enum.Enum):
    DUBBED = "dubbed"
    CAPTIONS_ONLY = "captions_only"
    PASSTHROUGH = "passthrough"
    NO_SPEECH = "no_speech"


@dataclass(frozen=True, slots=True)
class Cue:
    index: int
    start_s: float
    end_s: float
    text: str


@dataclass(slots=True)
class SegmentPlacement:
    """The decision for one segment, made when the program's release reached it."""

    segment: Segment
    mode: Mode
    decided_ns: int
    ready_ns: int | None  # when what was used arrived (None for a passthrough)
    cue: Cue | None = None
    dub_start: int = 0  # program sample where the dub starts (the segment's start pts)
    dub_samples: int = 0  # dub samples that will play
    truncated_ms: float = 0.0  # dub cut off because the next segment starts


@dataclass(slots=True)
class _Overlay:
    mute_from: int
    dub_from: int
    dub: np.ndarray
    until: int


class _Slot:
    __slots__ = ("segment", "caption_ns", "dub_ns")

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        self.caption_ns: int | None = None
        self.dub_ns: int | None = None


class ProgramTimeline:
    """Feed it the original audio and the segments' arrivals; :meth:`release` returns the program."""

    def __init__(self, rate: int, plan: ProgramPlan, min_cue_s: float) -> None:
        self.rate = rate
        self.plan = plan
        self.min_cue_s = min_cue_s
        self.origin_ns: int | None = None
        self.cursor = 0  # program samples released so far
        self.horizon_s = 0.0
        self.ended = False
        self._audio = SampleFifo()  # original samples from the cursor on
        self._slots: dict[int, _Slot] = {}
        self._order: list[int] = []  # undecided segment indexes, in start order
        self._overlays: list[_Overlay] = []

    @property
    def received(self) -> int:
        """Program samples received (released or not)."""
        return self.cursor + self._audio.size

    def add(self, chunk: ProgramChunk) -> None:
        audio = chunk.audio
        if self.origin_ns is None:
            self.origin_ns = audio.origin_ns
        self._audio.put(audio.program)
        for segment in chunk.opened:
            self._slots[segment.index] = _Slot(segment)
            self._order.append(segment.index)
        self.horizon_s = max(self.horizon_s, chunk.horizon_s)
        self.ended = self.ended or audio.end

    def caption_arrived(self, segment: Segment, at_ns: int) -> None:
        slot = self._slots.get(segment.index)
        if slot is not None and slot.caption_ns is None:
            slot.caption_ns = at_ns

    def dub_arrived(self, segment: Segment, at_ns: int) -> None:
        slot = self._slots.get(segment.index)
        if slot is not None and slot.dub_ns is None:
            slot.dub_ns = at_ns

    def release_target(self, now_ns: int | None) -> int:
        """How far the program may be released at ``now_ns`` (None: everything, the input has ended)."""
        if now_ns is None or self.origin_ns is None:
            return self.received
        live = (now_ns - self.origin_ns - self.plan.delay_ns) * self.rate // NS_PER_S
        return max(self.cursor, min(self.received, live))

    def release(self, now_ns: int | None, decided_ns: int) -> tuple[int, np.ndarray, list[SegmentPlacement]]:
        """(first sample, samples, decisions) released up to ``release_target(now_ns)``; with ``now_ns``
        None (the input has ended) every remaining segment is decided."""
        target = self.release_target(now_ns)
        start = self.cursor
        pieces: list[np.ndarray] = []
        placements: list[SegmentPlacement] = []
        while True:
            point = self._next_decision_point()
            if point is None or (point > target and now_ns is not None):
                break
            if min(point, target) > self.cursor:
                pieces.append(self._compose(min(point, target)))
            placements.append(self._decide(self._slots.pop(self._order.pop(0)), decided_ns))
        if target > self.cursor:
            pieces.append(self._compose(target))
        self._overlays = [o for o in self._overlays if o.until > self.cursor]
        samples = np.concatenate(pieces) if pieces else np.zeros(0, np.int16)
        return start, samples, placements

    def _next_decision_point(self) -> int | None:
        if not self._order:
            return None
        return max(0, round((self._slots[self._order[0]].segment.start_pts_s - self.plan.lead_s) * self.rate))

    def _compose(self, stop: int) -> np.ndarray:
        """Original samples [cursor, stop) with the dubs laid in; advances the cursor."""
        block = self._audio.take(stop - self.cursor).copy()
        for overlay in self._overlays:
            lo, hi = max(self.cursor, overlay.mute_from), min(stop, overlay.until)
            if lo < hi:
                block[lo - self.cursor:hi - self.cursor] = 0
            lo, hi = max(self.cursor, overlay.dub_from), min(stop, overlay.until, overlay.dub_from + len(overlay.dub))
            if lo < hi:
                block[lo - self.cursor:hi - self.cursor] = overlay.dub[lo - overlay.dub_from:hi - overlay.dub_from]
        self.cursor = stop
        return block

    def _decide(self, slot: _Slot, decided_ns: int) -> SegmentPlacement:
        segment = slot.segment
        due = self.plan.due_ns(segment.origin_ns, segment.start_pts_s)
        decided_ns = min(decided_ns, due)  # what had arrived by the due time decided it
        here = self.cursor
        for overlay in self._overlays:  # a dub still playing stops where this segment begins
            overlay.until = min(overlay.until, here)
        start = round(segment.start_pts_s * self.rate)
        end_s = segment.end_pts_s if segment.end_pts_s is not None else segment.start_pts_s
        next_start_s = min((self._slots[i].segment.start_pts_s for i in self._order), default=None)
        # no cue may reach into the next one: the next start if it is known, else the horizon before which
        # every started segment is known; at the end of the input, the end of the program
        limit_s = next_start_s if next_start_s is not None else (
            self.received / self.rate if self.ended else self.horizon_s)
        if slot.dub_ns is not None and slot.dub_ns <= due and segment.dub is not None and len(segment.dub):
            until = max(round(end_s * self.rate), start + len(segment.dub))
            if next_start_s is not None:
                until = min(until, round((next_start_s - self.plan.lead_s) * self.rate))
            self._overlays.append(_Overlay(here, start, segment.dub, until))
            played = max(0, min(len(segment.dub), until - start))
            cue = self._cue(segment, max(end_s, (start + played) / self.rate), limit_s)
            return SegmentPlacement(segment, Mode.DUBBED, decided_ns, slot.dub_ns, cue, start, played,
                             (len(segment.dub) - played) * 1000 / self.rate)
        caption_ok = slot.caption_ns is not None and slot.caption_ns <= due
        if caption_ok and segment.translation:
            return SegmentPlacement(segment, Mode.CAPTIONS_ONLY, decided_ns, slot.caption_ns,
                             self._cue(segment, end_s, limit_s))
        if caption_ok and segment.failure is None and not segment.transcript:
            return SegmentPlacement(segment, Mode.NO_SPEECH, decided_ns, slot.caption_ns)
        return SegmentPlacement(segment, Mode.PASSTHROUGH, decided_ns, None)

    def _cue(self, segment: Segment, speech_end_s: float, limit_s: float) -> Cue | None:
        end = min(max(speech_end_s, segment.start_pts_s + self.min_cue_s), limit_s)
        if end <= segment.start_pts_s:
            return None
        return Cue(segment.index, segment.start_pts_s, end, segment.translation)
