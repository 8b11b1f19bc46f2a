"""Live-feed test harness: ffmpeg as the broadcaster, `mediagrid run` of a live config, its HLS read back.

Shared by the live-feed end-to-end tests and the Kafka-fed sports overlay's live test.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import m3u8
import numpy as np
import pytest

from tests.conftest import REPO


def udp_bound(port: int) -> bool:
    """Whether a UDP socket is bound to ``port`` on this machine (the receiver is ready for the broadcaster)."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        if any(int(line.split()[1].rsplit(":", 1)[1], 16) == port for line in lines):
            return True
    return False


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broadcast(feed: Path, url: str, *extra: str) -> subprocess.Popen[bytes]:
    """ffmpeg as the broadcaster: real time, every stream copied. A small max_interleave_delta, because the SCTE-35
    stream is silent between cues and ffmpeg would otherwise hold the other streams back waiting for it."""
    return subprocess.Popen(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re", *extra,
                             "-i", str(feed), "-map", "0", "-c", "copy", "-max_interleave_delta", "200000",
                             "-f", "mpegts", url], stdin=subprocess.DEVNULL)


class Run:
    """`mediagrid run` of a live config, its HLS output and its summary."""

    def __init__(self, tmp: Path, config: Path, duration_s: float, *extra: str) -> None:
        """``extra``: more `mediagrid run` arguments (``--set`` overrides)."""
        self.tmp = tmp
        env = {**os.environ, "HOLOSCAN_LOG_LEVEL": "ERROR"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediagrid.cli", "run", str(config), "--out", str(tmp / "run"), "--no-progress",
             "--duration", str(duration_s), *extra], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        self.output = ""

    def wait_listening(self, port: int, timeout_s: float = 60) -> None:
        end = time.monotonic() + timeout_s
        while not udp_bound(port):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.finish(5)
                pytest.fail(f"the app never bound UDP port {port}:\n{self.output}")
            time.sleep(0.05)

    def finish(self, timeout_s: float = 90) -> int:
        try:
            self.output, _ = self.proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)
            self.output, _ = self.proc.communicate(timeout=30)
            pytest.fail(f"the app did not finish in {timeout_s} s:\n{self.output}")
        return self.proc.returncode

    @property
    def summary(self) -> dict:
        return json.loads((self.tmp / "run" / "summary.json").read_text())

    @property
    def playlist(self) -> m3u8.M3U8:
        return m3u8.load(str(self.tmp / "hls" / "index.m3u8"))


def read_segments(run: Run) -> list[tuple[m3u8.Segment, list[np.ndarray], list[int], list[int]]]:
    """Each listed segment with its decoded pictures (I420), their PTS, and its audio packets' PTS."""
    out = []
    for segment in run.playlist.segments:
        with av.open(str(run.tmp / "hls" / segment.uri)) as container:
            audio = [int(p.pts) for p in container.demux(container.streams.audio[0]) if p.size] \
                if container.streams.audio else []
        with av.open(str(run.tmp / "hls" / segment.uri)) as container:
            pictures = [(f.to_ndarray(format="yuv420p"), f.pts) for f in container.decode(video=0)]
        out.append((segment, [p for p, _ in pictures], [t for _, t in pictures], audio))
    return out
