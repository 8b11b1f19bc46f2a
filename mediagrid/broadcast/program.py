"""The program as the live outputs carry it: the composited video encoded once, the feed's audio remuxed beside it.

Shared by the HLS writer (many short containers, one per segment) and the MPEG-TS writer (one long container on
the network). The encoder lives in an in-memory container of its own, so that output containers can come and go
without restarting it; they take its codec parameters (and the audio stream's) as templates. Output timestamps
are 90 kHz from ``OUTPUT_START_TICKS`` on, one frame period per output index; the audio follows the video with
the same feed-to-output offset, which keeps the two in sync across feed discontinuities. The audio is never
decoded.
"""
from __future__ import annotations

import io
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from mediagrid.broadcast.feed import AudioFormat
from mediagrid.media.yuv import Colour, Layout

PTS_HZ = 90_000
OUTPUT_START_TICKS = 10 * PTS_HZ  # room before the first frame for audio that leads the video
_ENCODERS = {"h264": "libx264", "hevc": "libx265"}
_TICKS = Fraction(1, PTS_HZ)


@dataclass(frozen=True)
class EncoderSettings:
    codec: str = "h264"
    preset: str = "ultrafast"
    keyint: int = 600  # longest run without an IDR; the writers ask for the IDRs they need


class ProgramEncoder:
    """libx264/libx265 at zero latency (one packet out per frame in), IDRs only where asked, plus the audio."""

    def __init__(self, settings: EncoderSettings, *, fps: float, width: int, height: int, colour: Colour,
                 layout: Layout, audio: queue.Queue[tuple[int, Any]] | None = None,
                 audio_format: AudioFormat | None = None) -> None:
        self.settings = settings
        self.rate = Fraction(fps).limit_denominator(1001)
        self.width, self.height = width, height
        self.colour = colour
        self.layout = layout
        self.ticks_per_frame = PTS_HZ / float(self.rate)
        self.audio_packets = 0
        self.audio_dropped = 0  # packets more than two seconds older than the video being written
        self._audio = audio if audio_format is not None else None
        self._next_audio: tuple[int, Any] | None = None  # taken from the queue, not due yet
        self._audio_format = audio_format
        self._box: Any = None
        self._video: Any = None
        self._audio_template: Any = None
        self._offset_ticks: int | None = None  # output PTS - feed PTS, from the latest video frame
        self._first_out_pts: int | None = None  # the program starts with its first frame: earlier audio is cut

    def open(self) -> None:
        """Start the encoder now, before the first frame (which would otherwise pay for it)."""
        import av  # noqa: PLC0415

        self._box = av.open(io.BytesIO(), "w", format="mpegts")
        stream = self._box.add_stream(_ENCODERS[self.settings.codec], rate=self.rate)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        context = stream.codec_context
        context.colorspace, context.color_range = self.colour.space, self.colour.range
        context.color_primaries, context.color_trc = self.colour.primaries, self.colour.transfer
        gop = f"keyint={self.settings.keyint}:min-keyint=1:scenecut=0"  # no scene-cut or periodic extras
        stream.options = {"preset": self.settings.preset, "tune": "zerolatency", "forced-idr": "1",
                          "x264-params" if self.settings.codec == "h264" else "x265-params": gop}
        if self._audio_format is not None:  # a stream with the feed's audio parameters, for the outputs to copy
            fmt = self._audio_format
            self._audio_template = self._box.add_stream(fmt.codec, rate=fmt.sample_rate, layout=fmt.layout)
        self._box.start_encoding()
        self._video = stream

    def add_streams(self, container: Any) -> tuple[Any, Any]:
        """The program's video (and audio, if any) streams in an output container."""
        video = container.add_stream_from_template(self._video)
        audio = container.add_stream_from_template(self._audio_template) if self._audio_template else None
        return video, audio

    def out_pts(self, index: int) -> int:
        return OUTPUT_START_TICKS + round(index * self.ticks_per_frame)

    def to_output(self, feed_pts: int) -> int | None:
        """A time on the feed's clock (a cue's splice time) on the output's, by the latest frame's offset."""
        return None if self._offset_ticks is None else feed_pts + self._offset_ticks

    def encode(self, frame: np.ndarray, index: int, feed_pts: int, *, key: bool) -> list[Any]:
        """Video packets for ``frame`` (host memory) as output frame ``index``; ``key`` asks for an IDR."""
        import av  # noqa: PLC0415

        out_pts = self.out_pts(index)
        picture = av.VideoFrame.from_numpy_buffer(frame, format="nv12" if self.layout == "nv12" else "yuv420p")
        picture.pts = out_pts
        picture.time_base = _TICKS
        picture.colorspace, picture.color_range = self.colour.space, self.colour.range
        if key:
            picture.pict_type = av.video.frame.PictureType.I
        self._offset_ticks = out_pts - feed_pts
        if self._first_out_pts is None:
            self._first_out_pts = out_pts
        return list(self._video.encode(picture))

    def audio_until(self, until_out_pts: int) -> Iterator[Any]:
        """The feed's audio packets that start before ``until_out_pts``, on the output's clock."""
        if self._audio is None or self._offset_ticks is None:
            return
        while True:
            if self._next_audio is None:
                try:
                    self._next_audio = self._audio.get_nowait()
                except queue.Empty:
                    return
            feed_pts, packet = self._next_audio
            ticks = feed_pts + self._offset_ticks
            if ticks >= until_out_pts:
                return
            self._next_audio = None
            if ticks < until_out_pts - 2 * PTS_HZ:  # well behind the video: the feed's audio ran late
                self.audio_dropped += 1
                continue
            if ticks < self._first_out_pts:  # before the program's first picture
                continue
            packet.pts = packet.dts = ticks
            packet.time_base = _TICKS
            self.audio_packets += 1
            yield packet

    def audio_taken_until(self, until_out_pts: int) -> bool:
        """Whether every audio packet before ``until_out_pts`` has been handed out: the next one is already later."""
        if self._next_audio is None and self._audio is not None:
            try:
                self._next_audio = self._audio.get_nowait()
            except queue.Empty:
                return False
        if self._next_audio is None or self._offset_ticks is None:
            return self._audio is None
        return self._next_audio[0] + self._offset_ticks >= until_out_pts

    def flush(self) -> list[Any]:
        return list(self._video.encode(None)) if self._video is not None else []

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = self._video = None


def mux(container: Any, stream: Any, packets: Any) -> None:
    """Packets into ``stream`` of ``container`` (timestamps are 90 kHz throughout)."""
    for packet in packets:
        packet.stream = stream
        container.mux(packet)
