"""The HLS writer's audio placement: each segment carries the program audio of its own instant, also when the
broadcaster's multiplexer sends that audio after the video, and a segment whose audio never comes is still listed.

Real AAC packets (PyAV's encoder on a tone) and real segments, read back with PyAV and m3u8.
"""
from __future__ import annotations

import queue
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import m3u8
import numpy as np
import pytest

from mediagrid.broadcast.feed import AudioFormat
from mediagrid.broadcast.hls import AUDIO_LAG_S, HlsSettings, HlsWriter
from mediagrid.broadcast.program import PTS_HZ
from mediagrid.media.yuv import Colour

FPS, W, H = 25, 64, 48
FRAME_TICKS = PTS_HZ // FPS
RATE = 48_000
PACKET_TICKS = 1024 * PTS_HZ // RATE  # 1920: one AAC frame
FEED_START = 900_000  # the feed's first picture's PTS


def _aac_packets(seconds: float) -> list[tuple[int, Any]]:
    """(feed PTS, packet) pairs as the feed reader queues them: a 1 kHz tone, from the first picture's instant."""
    encoder = av.CodecContext.create("aac", "w")
    encoder.sample_rate, encoder.layout, encoder.format = RATE, "stereo", "fltp"
    encoder.time_base = Fraction(1, RATE)
    encoder.open()
    packets = []
    samples = int(seconds * RATE)
    tone = np.sin(2 * np.pi * 1000 * np.arange(samples) / RATE).astype(np.float32)
    for start in range(0, samples - 1024 + 1, 1024):
        frame = av.AudioFrame.from_ndarray(np.stack([tone[start:start + 1024]] * 2), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = RATE, start
        packets.extend(encoder.encode(frame))
    packets.extend(encoder.encode(None))
    return [(FEED_START + i * PACKET_TICKS, p) for i, p in enumerate(packets)]


def _writer(tmp: Path, audio: queue.Queue) -> HlsWriter:
    writer = HlsWriter(HlsSettings(tmp, segment_s=1.0, window=30), fps=FPS, width=W, height=H, colour=Colour(),
                       layout="i420", audio=audio, audio_format=AudioFormat("aac", RATE, "stereo", 1024))
    writer.open()
    return writer


def _segments(tmp: Path) -> list[tuple[list[int], list[int]]]:
    """(video PTS, audio PTS) of each listed segment."""
    out = []
    for segment in m3u8.load(str(tmp / "index.m3u8")).segments:
        with av.open(str(tmp / segment.uri)) as container:
            packets = [(p.stream.type, int(p.pts)) for p in container.demux() if p.size]
        out.append(([pts for kind, pts in packets if kind == "video"],
                    sorted(pts for kind, pts in packets if kind == "audio")))
    return out


@pytest.mark.parametrize("lag_s", [0.0, 0.6])
def test_each_segment_holds_the_audio_of_its_own_instant(tmp_path: Path, lag_s: float) -> None:
    """The audio of time t reaches the writer with the video of time t + lag (as an MPEG-TS muxer may send it)."""
    audio: queue.Queue = queue.Queue()
    pending = _aac_packets(4.2)
    writer = _writer(tmp_path, audio)
    frame = np.full((H * 3 // 2, W), 128, np.uint8)
    for index in range(4 * FPS):
        feed_pts = FEED_START + index * FRAME_TICKS
        while pending and pending[0][0] <= feed_pts - lag_s * PTS_HZ + FRAME_TICKS:
            audio.put(pending.pop(0))
        writer.write(frame, index, feed_pts, origin_ns=index * 40_000_000, arrival_ns=0)
    writer.close()
    segments = _segments(tmp_path)
    assert len(segments) == 4
    for (video, sound), following in zip(segments, [*segments[1:], None]):
        assert len(video) == FPS
        start, end = min(video), (min(following[0]) if following else max(video) + FRAME_TICKS)
        assert sound, "a segment without audio"
        assert start <= sound[0] < start + PACKET_TICKS and sound[-1] < end
        assert np.all(np.diff(sound) == PACKET_TICKS)  # none missing inside
    assert writer.counts.audio_packets == sum(len(s) for _, s in segments)
    assert writer.counts.audio_dropped == 0


def test_a_segment_whose_audio_stops_is_listed_after_the_lag(tmp_path: Path) -> None:
    """The feed's audio stops after 0.5 s: the first segment waits AUDIO_LAG_S of output, then goes as it is."""
    audio: queue.Queue = queue.Queue()
    for item in _aac_packets(0.5):
        audio.put(item)
    writer = _writer(tmp_path, audio)
    frame = np.full((H * 3 // 2, W), 128, np.uint8)
    listed = []
    for index in range(3 * FPS):
        writer.write(frame, index, FEED_START + index * FRAME_TICKS, origin_ns=index * 40_000_000, arrival_ns=0)
        listed.append(writer.counts.segments)
    # segment 0 is complete at frame 25; it is listed once the next one has run AUDIO_LAG_S
    assert listed.index(1) == FPS + round(AUDIO_LAG_S * FPS) - 1
    writer.close()
    assert writer.counts.segments == 3
