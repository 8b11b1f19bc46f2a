"""What travels through the live translation graph, and the program clock.

A speech *segment* is the work item: it opens when the VAD hears speech, closes when the speech ends, and
is transcribed, translated and dubbed under a deadline. The *program* is the delayed output: the source's
video and original audio, with each segment's dub and caption laid in at the segment's own source pts, so
that sync does not depend on how long the processing took, only on whether it finished in time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mediagrid.runtime.clock import NS_PER_S
from mediagrid.scheduler.deadline import Deadline


@dataclass(slots=True)
class Batch:
    """What every speech port carries: items in order, and whether the stream ends with them."""

    items: list[Any] = field(default_factory=list)
    end: bool = False


@dataclass(slots=True)
class AudioChunk:
    """A stretch of the source's audio, released when a live capture would have it complete."""

    pts_s: float  # source pts of the first sample
    speech: np.ndarray  # int16 mono at 16 kHz, for the VAD and the recogniser
    program: np.ndarray  # int16 mono at the program rate: the original soundtrack
    origin_ns: int  # monotonic time of pts 0 on the live clock
    end: bool = False  # the source has no more audio after this


@dataclass(frozen=True)
class ProgramPlan:
    """When each segment is due on the output and by when its processing must be done.

    A segment's output starts ``lead_s`` before its start pts (the original is muted there, so no onset of
    the source speech leaks before the dub) and is due ``delay_ns`` after that moment was captured. Its
    deadline is the sooner of its processing budget, counted from the end of its speech, and that due time.
    """

    delay_ns: int
    budget_ns: int
    lead_s: float

    def due_ns(self, origin_ns: int, start_pts_s: float) -> int:
        return origin_ns + round((start_pts_s - self.lead_s) * NS_PER_S) + self.delay_ns

    def deadline(self, segment: Segment) -> Deadline:
        origin = segment.speech_end_ns
        return Deadline(origin, min(origin + self.budget_ns, self.due_ns(segment.origin_ns, segment.start_pts_s)))


@dataclass(eq=False)
class Segment:
    """One spoken segment on its way through ASR, translation and synthesis (stages fill it in order)."""

    stream: str
    index: int
    start_pts_s: float
    origin_ns: int
    end_pts_s: float | None = None
    forced_end: bool = False  # cut at the maximum length: speech goes on right after it
    closed_ns: int | None = None  # when the VAD decided that the speech had ended
    deadline: Deadline | None = None
    transcript: str = ""
    translation: str = ""
    dub: np.ndarray | None = None  # int16 mono at the program rate, leading silence trimmed
    dub_rate_percent: int = 100
    first_audio_ns: int | None = None
    failure: str | None = None  # "stage: reason" of the first stage that failed or was skipped

    @property
    def item_id(self) -> str:
        return f"{self.stream}:seg{self.index}"

    @property
    def speech_end_ns(self) -> int:
        """Monotonic time at which the last spoken sample was captured: the origin of the segment's budget."""
        return self.origin_ns + round((self.end_pts_s or self.start_pts_s) * NS_PER_S)

    def fail(self, stage: str, reason: str) -> None:
        if self.failure is None:
            self.failure = f"{stage}: {reason}"


@dataclass(slots=True)
class SegmentEvent:
    """For the recogniser: a segment opened (its pre-roll in ``pcm``), more of its audio, or its end."""

    segment: Segment
    pcm: np.ndarray
    opened: bool = False
    closed: bool = False


@dataclass(slots=True)
class ProgramChunk:
    """For the output: the original audio, the segments that opened in it (their end and results are filled
    in later, on the same objects), and ``horizon_s``, the pts before which every segment that has started
    is known."""

    audio: AudioChunk
    opened: list[Segment]
    horizon_s: float


