"""The translated program as live HLS (``sink.kind: hls``): what a viewer's player opens instead of the MP4.

``index.m3u8`` (master) names one variant, ``program.m3u8`` (MPEG-TS segments: the source's video copied, the
program audio with the dubs in it, tagged with the target language) and a WebVTT subtitle rendition,
``subtitles.m3u8``, cut at the same instants so a player fetches captions beside the media they belong to.

Segments are cut at the source's keyframes once ``segment_s`` has passed (the video is copied, never re-encoded).
The program operator hands over video, then the audio of the same stretch, then places its cues, so a cut waits
until the audio up to it is encoded and every cue that starts before it is known; a cue spanning several
segments goes into each of them. Timestamps are the source's (``mpegts_copyts``), which the WebVTT timestamp map
ties the captions to.
"""
from __future__ import annotations

import io
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.broadcast.playlist import MasterPlaylist, MediaPlaylist, Rendition, Segment, Variant
from mediagrid.broadcast.webvtt import write_vtt_segment
from mediagrid.errors import MediaError
from mediagrid.speech.languages import iso639_2
from mediagrid.speech.program_files import packet_time_s
from mediagrid.speech.timeline import Cue

MASTER, PROGRAM, SUBTITLES = "index.m3u8", "program.m3u8", "subtitles.m3u8"
_CODECS = {"h264": "avc1.640028", "hevc": "hvc1.1.6.L120.90"}
_AAC = "mp4a.40.2"


@dataclass(frozen=True)
class HlsProgramSettings:
    directory: Path
    segment_s: float = 2.0
    window: int = 6


class HlsProgramWriter:
    """Same calls as the MP4 writer (``write_video``, ``write_audio``, ``write_cue``, ``close``)."""

    def __init__(self, settings: HlsProgramSettings, source: Path, rate: int, language: str) -> None:
        import av  # noqa: PLC0415

        self._av = av
        self.settings = settings
        self.rate = rate
        self.segments = 0
        settings.directory.mkdir(parents=True, exist_ok=True)
        self._source = av.open(str(source))  # its video stream is each segment's template
        if not self._source.streams.video:
            raise MediaError(f"{source}: no video stream for the HLS program")
        self._video_template = self._source.streams.video[0]
        self._box = av.open(io.BytesIO(), "w", format="mpegts")  # holds the AAC encoder, the audio template
        self._audio_template = self._box.add_stream("aac", rate=rate, layout="mono")
        self._box.start_encoding()
        self._language = language
        self.program = MediaPlaylist(settings.directory, PROGRAM, window=settings.window)
        self.subtitles = MediaPlaylist(settings.directory, SUBTITLES, window=settings.window)
        self._write_master()
        self._video: deque[Any] = deque()  # handed over, not yet in a segment
        self._audio: deque[Any] = deque()  # encoded, not yet in a segment
        self._audio_end_s = float("-inf")  # how far the encoded audio reaches (the encoder holds some back)
        self._cues: list[tuple[float, float, str]] = []
        self._segment: Any = None
        self._segment_start_s = 0.0
        self._clock: datetime | None = None  # wall-clock instant of program time 0

    def write_video(self, packets: list[Any]) -> None:
        self._video.extend(packets)

    def write_audio(self, first_sample: int, pcm: np.ndarray) -> None:
        if len(pcm):
            frame = self._av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm, dtype=np.int16)[None, :],
                                                     format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = self.rate, first_sample, Fraction(1, self.rate)
            self._take_audio(self._audio_template.encode(frame))
        self._drain(final=False)

    def write_cue(self, cue: Cue) -> None:
        self._cues.append((cue.start_s, cue.end_s, cue.text))

    def close(self) -> None:
        try:
            self._take_audio(self._audio_template.encode(None))
            self._drain(final=True)
            self._cut(float("inf"))
            self.program.close(ended=True)
            self.subtitles.close(ended=True)
        finally:
            self._box.close()
            self._source.close()

    def _take_audio(self, packets: list[Any]) -> None:
        for packet in packets:
            if packet.pts is not None:
                self._audio.append(packet)
                self._audio_end_s = packet_time_s(packet) + float((packet.duration or 0) * packet.time_base)

    def _drain(self, *, final: bool) -> None:
        """Video packets into segments in order; a keyframe past ``segment_s`` cuts, once the audio reaches it."""
        while self._video:
            packet = self._video[0]
            at = packet_time_s(packet)
            if self._segment is None or (packet.is_keyframe and at - self._segment_start_s >= self.settings.segment_s):
                if not final and self._segment is not None and self._audio_end_s < at:
                    return  # the audio up to this cut is still to come
                self._cut(at)
                self._start(at)
            self._video.popleft()
            packet.stream = self._segment_video
            self._segment.mux(packet)

    def _start(self, at: float) -> None:
        path = self.settings.directory / f"program{self.segments:06d}.ts"
        try:
            self._segment = self._av.open(str(path), "w", format="mpegts", options={"mpegts_copyts": "1"})
        except (self._av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"{path}: cannot create the HLS segment ({exc})") from exc
        self._segment_video = self._segment.add_stream_from_template(self._video_template)
        self._segment_audio = self._segment.add_stream_from_template(self._audio_template)
        self._segment_audio.metadata["language"] = iso639_2(self._language)
        self._segment_start_s = at
        if self._clock is None:
            self._clock = datetime.now(UTC) - timedelta(seconds=at)

    def _cut(self, at: float) -> None:
        """Finish the open segment at program time ``at``: its audio, its captions, both playlists."""
        if self._segment is None:
            return
        while self._audio and packet_time_s(self._audio[0]) < at:
            packet = self._audio.popleft()
            packet.stream = self._segment_audio
            self._segment.mux(packet)
        self._segment.close()
        start = self._segment_start_s
        end = at if at != float("inf") else max(self._audio_end_s, start + 1 / 1000)
        number = self.segments
        self.segments += 1
        self._segment = None
        vtt = f"subtitles{number:06d}.vtt"
        write_vtt_segment(self.settings.directory / vtt, [c for c in self._cues if c[1] > start and c[0] < end])
        self._cues = [c for c in self._cues if c[1] > end]
        listed = self._clock + timedelta(seconds=start)
        self.program.add(Segment(f"program{number:06d}.ts", end - start, listed))
        self.subtitles.add(Segment(vtt, end - start, listed))

    def _write_master(self) -> None:
        video = self._video_template
        codec = _CODECS.get(video.codec_context.name, video.codec_context.name)
        rate = video.average_rate or video.guessed_rate or 25
        bandwidth = int(video.bit_rate or video.codec_context.bit_rate or 4_000_000) + 128_000
        MasterPlaylist(
            [Variant(PROGRAM, bandwidth, f"{codec},{_AAC}", (video.width, video.height), float(rate),
                     subtitles="subs")],
            [Rendition("SUBTITLES", "subs", self._language, SUBTITLES, language=self._language, default=True)],
        ).write(self.settings.directory / MASTER)

