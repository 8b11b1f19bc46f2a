"""Live HLS output: frames encoded once (libx264, zero latency), cut into MPEG-TS segments, listed in a sliding-window
playlist with the program's audio and its ad breaks.

Every segment starts with an IDR picture that this writer asks the encoder for (at the segment grid and at every
break's first and last frame), so a segment is independently decodable and a break starts a segment exactly on its
splice frame. Segments are separate files muxed with ``mpegts_copyts``: timestamps run on across segments as if
they were one stream. The program audio is never decoded: its packets are remuxed into the segment that holds the
video of the same instant, shifted by the same offset as the video (feed PTS -> output PTS), which keeps them in
sync across feed discontinuities.

A frame counts as *published* when the playlist that lists its segment has been replaced on disk: the time from
its arrival on the feed to that moment is the glass-to-glass figure in the run summary.
"""
from __future__ import annotations

import io
import logging
import queue
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.broadcast.playlist import AdBreakError, MediaPlaylist, Segment
from mediagrid.errors import MediaError
from mediagrid.media.yuv import Colour, Layout
from mediagrid.runtime.clock import NS_PER_S, now_ns

log = logging.getLogger(__name__)

PTS_HZ = 90_000
OUTPUT_START_TICKS = 10 * PTS_HZ  # room before the first frame for audio that leads the video
_ENCODERS = {"h264": "libx264", "hevc": "libx265"}


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
    audio_dropped: int = 0  # packets older than the segment being written (the feed's audio ran late)
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
    feed's audio packets and ``audio_stream`` the feed's audio stream (its codec parameters), or None."""

    def __init__(self, settings: HlsSettings, *, fps: float, width: int, height: int, colour: Colour,
                 layout: Layout, audio: queue.Queue[Any] | None = None, audio_stream: Any = None) -> None:
        self.settings = settings
        self.rate = Fraction(fps).limit_denominator(1001)
        self.width, self.height = width, height
        self.colour = colour
        self.layout = layout
        self.counts = HlsCounts()
        self.clock = WallClock()
        self.playlist = MediaPlaylist(settings.directory, window=settings.window,
                                      keep_after_window=settings.window + 1)
        self._audio = audio if audio_stream is not None else None
        self._audio_stream = audio_stream
        self._segment_frames = max(round(settings.segment_s * float(self.rate)), 1)
        self._ticks_per_frame = PTS_HZ / float(self.rate)
        self._box: Any = None  # an in-memory container that owns the encoder and the audio stream template
        self._encoder: Any = None
        self._audio_template: Any = None
        self._segment: _OpenSegment | None = None
        self._offset_ticks: int | None = None  # output PTS - feed PTS, from the latest video frame
        self._next_number = 0
        self._cut_next = False

    def open(self) -> None:
        """Start the encoder now, before the first frame (which would otherwise pay for it)."""
        import av  # noqa: PLC0415

        self.settings.directory.mkdir(parents=True, exist_ok=True)
        self._box = av.open(io.BytesIO(), "w", format="mpegts")
        stream = self._box.add_stream(_ENCODERS[self.settings.codec], rate=self.rate)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        context = stream.codec_context
        context.colorspace, context.color_range = self.colour.space, self.colour.range
        context.color_primaries, context.color_trc = self.colour.primaries, self.colour.transfer
        # IDRs only where this writer asks (segment starts, splice points): no scene-cut or periodic extras
        gop = f"keyint={self._segment_frames * 4}:min-keyint=1:scenecut=0"
        stream.options = {"preset": self.settings.preset, "tune": "zerolatency", "forced-idr": "1",
                          "x264-params" if self.settings.codec == "h264" else "x265-params": gop}
        if self._audio_stream is not None:
            self._audio_template = self._box.add_stream_from_template(self._audio_stream)
        self._box.start_encoding()
        self._encoder = stream

    def cut_before_next(self) -> None:
        """Start a new segment with the next frame (a break's first or first-after frame)."""
        self._cut_next = True

    def write(self, frame: np.ndarray, index: int, feed_pts: int, origin_ns: int, arrival_ns: int) -> None:
        """Encode ``frame`` (host memory, the writer's layout) as output frame ``index``; ``feed_pts`` is its PTS on
        the feed's clock (for the audio), ``origin_ns`` when it was due (for PROGRAM-DATE-TIME)."""
        import av  # noqa: PLC0415

        out_pts = OUTPUT_START_TICKS + round(index * self._ticks_per_frame)
        cut = self._segment is None or self._cut_next or self._segment.frames >= self._segment_frames
        if cut:
            self._finish_segment()
            self._segment = self._start_segment(out_pts, origin_ns)
            self._cut_next = False
        picture = av.VideoFrame.from_numpy_buffer(frame, format="nv12" if self.layout == "nv12" else "yuv420p")
        picture.pts = out_pts
        picture.time_base = Fraction(1, PTS_HZ)
        picture.colorspace, picture.color_range = self.colour.space, self.colour.range
        if cut:
            picture.pict_type = av.video.frame.PictureType.I
        segment = self._segment
        for packet in self._encoder.encode(picture):
            segment.mux(packet, segment.video)
        segment.frames += 1
        segment.last_out_pts = out_pts
        segment.arrivals.append(arrival_ns)
        self.counts.frames += 1
        self._offset_ticks = out_pts - feed_pts
        self._mux_audio(out_pts + round(self._ticks_per_frame))

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
        if self._encoder is not None and self._segment is not None:
            for packet in self._encoder.encode(None):
                self._segment.mux(packet, self._segment.video)
        self._finish_segment()
        self.playlist.close(ended=True)
        if self._box is not None:
            self._box.close()
            self._box = self._encoder = None

    def _start_segment(self, out_pts: int, origin_ns: int) -> _OpenSegment:
        import av  # noqa: PLC0415

        name = f"seg{self._next_number:06d}.ts"
        self._next_number += 1
        path = self.settings.directory / name
        try:
            container = av.open(str(path), "w", format="mpegts", options={"mpegts_copyts": "1"})
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"{path}: cannot create the HLS segment ({exc})") from exc
        video = container.add_stream_from_template(self._encoder)
        audio = container.add_stream_from_template(self._audio_template) if self._audio_template else None
        return _OpenSegment(name, container, video, audio, out_pts, self.clock.at(origin_ns))

    def _finish_segment(self) -> None:
        segment, self._segment = self._segment, None
        if segment is None:
            return
        segment.container.close()
        if not segment.frames:
            return
        self.playlist.add(Segment(segment.name, segment.frames / float(self.rate), segment.started_at))
        published = now_ns()
        self.counts.segments += 1
        self.counts.glass_to_glass_ms.extend((published - a) / 1e6 for a in segment.arrivals if a)

    def _mux_audio(self, until_out_pts: int) -> None:
        """The feed's audio up to the end of the frame just written, shifted like the video."""
        segment = self._segment
        if self._audio is None or segment is None or segment.audio is None or self._offset_ticks is None:
            return
        while True:
            try:
                packet = self._audio.get_nowait()
            except queue.Empty:
                return
            if packet.pts is None:
                continue
            ticks = int(packet.pts * packet.time_base * PTS_HZ) + self._offset_ticks
            if ticks < segment.first_out_pts - PTS_HZ:  # more than a second behind this segment: stale
                self.counts.audio_dropped += 1
                continue
            packet.pts = packet.dts = ticks
            packet.time_base = Fraction(1, PTS_HZ)
            segment.mux(packet, segment.audio)
            self.counts.audio_packets += 1
            if ticks >= until_out_pts:
                return


@dataclass
class _OpenSegment:
    name: str
    container: Any
    video: Any
    audio: Any
    first_out_pts: int
    started_at: datetime
    frames: int = 0
    last_out_pts: int = 0
    arrivals: list[int] = field(default_factory=list)

    def mux(self, packet: Any, stream: Any) -> None:
        packet.stream = stream
        self.container.mux(packet)
