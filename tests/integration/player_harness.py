"""Headless Chromium on the player page, observed through the page's own QoE beacons.

The page POSTs a beacon every second (position, playing date, stalls, errors, the mean colour of a sampled part
of the picture), so a test sees what the browser really plays without a debugging protocol. Chromium runs as a
:class:`ChildProcess`: its own process group, killed whole (renderers, GPU and zygote helpers included) however
the test ends.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import pytest

from mediagrid.broadcast.serve import PlayerServer
from mediagrid.runtime.process import ChildProcess, tail

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Nothing that could reach the network, no sandbox (containers), and autoplay without a click.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--enable-logging=stderr", "--v=0", "--autoplay-policy=no-user-gesture-required")
H264_AAC = 'video/mp4; codecs="avc1.42E01E,mp4a.40.2"'
CONSOLE = re.compile(r":CONSOLE[:(]")
_SLICE_S = 0.5  # how often a wait looks at whether Chromium is still alive


def require_chromium() -> str:
    """The browser's path. CI must not go green by skipping the browser check; a laptop without one may skip."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    reason = f"headless Chromium not found (none of {', '.join(BROWSERS)} on PATH; Debian: apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def plays_h264_through_mse(chromium: str, profile: Path) -> bool:
    """Whether this build's Media Source Extensions take H.264 + AAC, which hls.js needs for MPEG-TS streams
    (a Chromium built without proprietary codecs says no)."""
    script = f"document.body.dataset.h264 = MediaSource.isTypeSupported('{H264_AAC}')"
    page = f"data:text/html,<body><script>{script}</script></body>"
    result = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page],
                            capture_output=True, text=True, timeout=60, check=False)
    return 'data-h264="true"' in result.stdout


class PlayerBrowser:
    """Chromium showing ``server``'s player page; ``sample`` (x, y, w, h as fractions of the picture) asks each
    beacon for the mean colour of that region. Use as a context manager."""

    def __init__(self, chromium: str, server: PlayerServer, workdir: Path, *, src: str = "index.m3u8",
                 sample: tuple[float, float, float, float] | None = None) -> None:
        query = {"src": src} | ({"sample": ",".join(f"{v:g}" for v in sample)} if sample else {})
        self.server = server
        self.url = f"{server.url}?{urlencode(query)}"
        self.log_path = workdir / "chromium.log"
        self._child = ChildProcess("headless Chromium", [chromium, *FLAGS, f"--user-data-dir={workdir / 'profile'}",
                                                         self.url], ready=lambda: True, log_path=self.log_path)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any]:
        """The first beacon for which ``predicate`` holds; fails at once, with Chromium's log, if it dies."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._child.ensure_running()
            left = deadline - time.monotonic()
            try:
                return self.server.wait_for_beacon(predicate, max(0.0, min(_SLICE_S, left)))
            except TimeoutError:
                if left <= _SLICE_S:
                    raise TimeoutError(f"no matching beacon from {self.url} within {timeout_s:g} s; the last ones: "
                                       f"{self.server.beacons[-3:]}\n{self.console()}") from None

    def console(self) -> str:
        """What the page wrote to the console (errors that never became a beacon), for failure messages."""
        lines = [line for line in tail(self.log_path, lines=400).splitlines() if CONSOLE.search(line)]
        return "\n".join(lines) or "(nothing on the page's console)"

    def __enter__(self) -> Self:
        self._child.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        group = self._child.pid  # the leader's id is its process group's
        self._child.stop(grace_s=2.0)
        if group is not None:  # helpers that outlived the leader's exit (a renderer busy decoding, say)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
