"""Live HLS output: frames encoded once (libx264, zero latency), cut into MPEG-TS segments, listed in a sliding-window
playlist with the program's audio and its ad breaks.

Every segment starts with an IDR picture that this writer asks the encoder for (at the segment grid and at every
break's first and last frame), so a segment is independently decodable and a break starts a segment exactly on its
splice frame. Segments are separate files muxed with ``mpegts_copyts``: timestamps run on across segments as if
they were one stream. The program audio goes into the segment that holds the video of the same instant
(:mod:`mediagrid.broadcast.program`). A broadcaster's multiplexer may send the audio up to ~0.7 s after the video
of the same instant, so a finished segment stays open for its audio until the next packet belongs to a later one
(or ``AUDIO_LAG_S`` of output has passed) before it is closed and listed.

A frame counts as *published* when the playlist that lists its segment has been replaced on disk: the time from
its arrival on the feed to that moment is the glass-to-glass figure in the run summary.
"""
from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.broadcast.feed import AudioFormat
from mediagrid.broadcast.playlist import AdBreakError, MediaPlaylist, Segment
from mediagrid.broadcast.program import EncoderSettings, ProgramEncoder, mux
from mediagrid.errors import MediaError
from mediagrid.media.yuv import Colour, Layout
from mediagrid.runtime.clock import NS_PER_S, now_ns

log = logging.getLogger(__name__)

AUDIO_LAG_S = 1.0  # longest wait for a finished segment's audio, in output time


@dataclass(frozen=True)
class HlsSettings:
    directory: Path
    segment_s: float = 2.0
    window: int = 6
    codec: str = "h264"
    preset: str = "ultrafast"


@dataclass
class HlsCounts:
    segments: int = 0
    frames: int = 0
    audio_packets: int = 0
    audio_dropped: int = 0  # packets far older than the video being written (the feed's audio ran late)
    break_signals: int = 0
    break_errors: int = 0
    glass_to_glass_ms: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The output's part of the run summary: the counts and the glass-to-glass percentiles."""
        counts = {k: v for k, v in vars(self).items() if k != "glass_to_glass_ms"}
        return {**counts, "glass_to_glass": self.latency()}

    def latency(self) -> dict[str, float | None]:
        """Arrival on the feed -> listed in a published playlist, over every published frame."""
        values = np.asarray(self.glass_to_glass_ms)
        if not values.size:
            return {"p50_ms": None, "p99_ms": None, "max_ms": None}
        return {"p50_ms": round(float(np.percentile(values, 50)), 1),
                "p99_ms": round(float(np.percentile(values, 99)), 1), "max_ms": round(float(values.max()), 1)}


class WallClock:
    """Monotonic nanoseconds as UTC datetimes, for PROGRAM-DATE-TIME: one offset taken at start, so segment times
    never jump when the system clock is stepped during a run."""

    def __init__(self) -> None:
        self._offset_ns = time.time_ns() - now_ns()

    def at(self, monotonic_ns: int) -> datetime:
        return datetime.fromtimestamp((monotonic_ns + self._offset_ns) / NS_PER_S, UTC)


class HlsWriter:
    """Encodes frames and publishes segments; owned by one operator (not thread-safe). ``audio`` is a queue of the
    feed's audio packets and ``audio_format`` their parameters, or None."""

    def __init__(self, settings: HlsSettings, *, fps: float, width: int, height: int, colour: Colour,
                 layout: Layout, audio: queue.Queue[tuple[int, Any]] | None = None,
                 audio_format: AudioFormat | None = None) -> None:
        self.settings = settings
        self.counts = HlsCounts()
        self.clock = WallClock()
        self.playlist = MediaPlaylist(settings.directory, window=settings.window,
                                      keep_after_window=settings.window + 1)
        self._fps = fps
        self._segment_frames = max(round(settings.segment_s * fps), 1)
        self.program = ProgramEncoder(EncoderSettings(settings.codec, settings.preset, 4 * self._segment_frames),
                                      fps=fps, width=width, height=height, colour=colour, layout=layout,
                                      audio=audio, audio_format=audio_format)
        self._segment: _OpenSegment | None = None
        self._closing: _OpenSegment | None = None  # finished, waiting for the last of its audio
        self._next_number = 0
        self._cut_next = False

    def open(self) -> None:
        """Start the encoder now, before the first frame (which would otherwise pay for it)."""
        self.settings.directory.mkdir(parents=True, exist_ok=True)
        self.program.open()

    def cut_before_next(self) -> None:
        """Start a new segment with the next frame (a break's first or first-after frame)."""
        self._cut_next = True

    def write(self, frame: np.ndarray, index: int, feed_pts: int, origin_ns: int, arrival_ns: int) -> None:
        """Encode ``frame`` (host memory, the writer's layout) as output frame ``index``; ``feed_pts`` is its PTS on
        the feed's clock (for the audio), ``origin_ns`` when it was due (for PROGRAM-DATE-TIME)."""
        cut = self._segment is None or self._cut_next or self._segment.frames >= self._segment_frames
        if cut:
            self._finish_segment()
            self._segment = self._start_segment(origin_ns)
            self._cut_next = False
        segment = self._segment
        mux(segment.container, segment.video, self.program.encode(frame, index, feed_pts, key=cut))
        segment.frames += 1
        segment.end_pts = self.program.out_pts(index + 1)
        segment.arrivals.append(arrival_ns)
        self.counts.frames += 1
        if self._closing is not None:
            self._take_late_audio(final=segment.frames >= self._fps * AUDIO_LAG_S)
        if self._closing is None and segment.audio is not None:
            mux(segment.container, segment.audio, self.program.audio_until(segment.end_pts))

    def break_started(self, break_id: str, origin_ns: int, planned_duration_s: float | None,
                      scte35_hex: str | None) -> None:
        self._signal(lambda: self.playlist.break_started(break_id, self.clock.at(origin_ns),
                                                         planned_duration_s=planned_duration_s,
                                                         scte35_hex=scte35_hex))

    def break_ended(self, break_id: str, origin_ns: int, scte35_hex: str | None) -> None:
        self._signal(lambda: self.playlist.break_ended(break_id, self.clock.at(origin_ns), scte35_hex=scte35_hex))

    def _signal(self, call: Any) -> None:
        self.cut_before_next()
        try:
            call()
            self.counts.break_signals += 1
        except AdBreakError as exc:
            self.counts.break_errors += 1
            log.warning("HLS ad break signal not written: %s", exc)

    def close(self) -> None:
        if self._segment is not None:
            mux(self._segment.container, self._segment.video, self.program.flush())
        self._finish_segment()
        self._take_late_audio(final=True)
        self.playlist.close(ended=True)
        self.program.close()
        self.counts.audio_packets, self.counts.audio_dropped = self.program.audio_packets, self.program.audio_dropped

    def _start_segment(self, origin_ns: int) -> _OpenSegment:
        import av  # noqa: PLC0415

        name = f"seg{self._next_number:06d}.ts"
        self._next_number += 1
        path = self.settings.directory / name
        try:
            container = av.open(str(path), "w", format="mpegts", options={"mpegts_copyts": "1"})
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"{path}: cannot create the HLS segment ({exc})") from exc
        video, audio = self.program.add_streams(container)
        return _OpenSegment(name, container, video, audio, self.clock.at(origin_ns))

    def _finish_segment(self) -> None:
        """The current segment is complete in video; it is listed once its audio is in too."""
        segment, self._segment = self._segment, None
        if segment is None:
            return
        self._take_late_audio(final=True)  # a segment shorter than the audio lag: its predecessor goes as it is
        if segment.audio is not None and segment.frames:
            self._closing = segment
            self._take_late_audio(final=False)
        else:
            self._publish(segment)

    def _take_late_audio(self, *, final: bool) -> None:
        segment = self._closing
        if segment is None:
            return
        mux(segment.container, segment.audio, self.program.audio_until(segment.end_pts))
        if final or self.program.audio_taken_until(segment.end_pts):
            self._closing = None
            self._publish(segment)

    def _publish(self, segment: _OpenSegment) -> None:
        segment.container.close()
        if not segment.frames:
            return
        self.playlist.add(Segment(segment.name, segment.frames / self._fps, segment.started_at))
        published = now_ns()
        self.counts.segments += 1
        self.counts.audio_packets, self.counts.audio_dropped = self.program.audio_packets, self.program.audio_dropped
        self.counts.glass_to_glass_ms.extend((published - a) / 1e6 for a in segment.arrivals if a)


@dataclass
class _OpenSegment:
    name: str
    container: Any
    video: Any
    audio: Any
    started_at: datetime
    frames: int = 0
    end_pts: int = 0  # output PTS just after its last frame
    arrivals: list[int] = field(default_factory=list)
