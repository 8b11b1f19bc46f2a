"""Live MPEG-TS out (``sink.kind: live``): the program pushed to a UDP or SRT receiver, the feed's SCTE-35 cues
passed on, re-stamped for the output's clock.

UDP is written by PyAV's own FFmpeg. SRT is not built into the FFmpeg that PyAV wheels carry: the transport
stream is written to a pipe and the system ``ffmpeg`` sends its bytes on, untouched (``-f data``), as the live
source does in the other direction.

FFmpeg's MPEG-TS muxer carries the cues as a private data stream (stream type 0x06), as ffmpeg itself does when it
relays a feed; receivers built on FFmpeg (mediagrid included) read them, a receiver that only looks for stream
type 0x86 does not.
"""
from __future__ import annotations

import logging
import subprocess
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from mediagrid.broadcast.program import ProgramEncoder, mux
from mediagrid.broadcast.scte35 import restamp
from mediagrid.errors import MediaError

log = logging.getLogger(__name__)

KEY_EVERY_S = 1.0  # a receiver joining mid-stream waits at most this long for a picture it can decode


@dataclass
class TsOutCounts:
    frames: int = 0
    cues_passed: int = 0
    cues_unplaced: int = 0  # sections that arrived before the first frame gave the feed-to-output offset


class TsWriter:
    """One continuous transport stream to ``url``; owned by one operator (not thread-safe). ``cues`` is the
    live input's queue of sections to pass on (or None)."""

    def __init__(self, url: str, program: ProgramEncoder, cues: deque[bytes] | None = None) -> None:
        self.url = url
        self.program = program
        self.cues = cues
        self.counts = TsOutCounts()
        self._key_every = max(round(KEY_EVERY_S * float(program.rate)), 1)
        self._relay: subprocess.Popen[bytes] | None = None
        self._container: Any = None
        self._video = self._audio = self._data = None

    def open(self) -> None:
        import av  # noqa: PLC0415

        self.program.open()
        try:
            if self.url.startswith("srt://"):
                self._relay = _srt_sender(self.url)
                target: Any = self._relay.stdin
            else:
                target = _udp_url(self.url)
            # no interleaving wait: the cue stream is silent for minutes, and would hold everything back
            self._container = av.open(target, "w", format="mpegts",
                                      options={"mpegts_copyts": "1", "max_interleave_delta": "1"})
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"{self.url}: cannot open the MPEG-TS output ({exc})") from exc
        self._video, self._audio = self.program.add_streams(self._container)
        self._data = self._container.add_data_stream(codec_name="scte_35")

    def write(self, frame: np.ndarray, index: int, feed_pts: int) -> None:
        packets = self.program.encode(frame, index, feed_pts, key=self.counts.frames % self._key_every == 0)
        mux(self._container, self._video, packets)
        self.counts.frames += 1
        if self._audio is not None:
            mux(self._container, self._audio, self.program.audio_until(self.program.out_pts(index + 1)))
        self._pass_cues(self.program.out_pts(index))

    def _pass_cues(self, now_out_pts: int) -> None:
        import av  # noqa: PLC0415

        while self.cues:
            section = self.cues.popleft()
            offset = self.program.to_output(0)
            if offset is None:
                self.counts.cues_unplaced += 1
                continue
            packet = av.Packet(restamp(section, offset))
            packet.pts = packet.dts = now_out_pts
            packet.time_base = Fraction(1, 90_000)
            mux(self._container, self._data, [packet])
            self.counts.cues_passed += 1

    def close(self) -> None:
        if self._container is not None:
            mux(self._container, self._video, self.program.flush())
            self._container.close()
            self._container = None
        self.program.close()
        if self._relay is not None:
            self._relay.stdin.close()
            try:
                self._relay.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._relay.kill()
                self._relay.wait()
            self._relay = None


def _udp_url(url: str) -> str:
    """Datagrams of seven transport packets, the size every MPEG-TS-over-UDP receiver expects."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("pkt_size", "1316")
    return urlunsplit(parts._replace(query=urlencode(query)))


def _srt_sender(url: str) -> subprocess.Popen[bytes]:
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "data", "-i", "pipe:0",
               "-map", "0", "-c", "copy", "-flush_packets", "1", "-f", "data", url]
    try:
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        raise MediaError(f"{url}: cannot start ffmpeg to send SRT ({exc}); install ffmpeg with libsrt") from exc
