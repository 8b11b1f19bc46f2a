"""What the sports overlay leaves in the run directory besides the video: PNG snapshots of composited
frames, taken off the frame path, and its counters as JSON."""
from __future__ import annotations

import json
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from mediagrid.media.compositor import Canvas
from mediagrid.media.yuv import to_rgb
from mediagrid.overlay.layers import Layer
from mediagrid.runtime.clock import NS_PER_S

log = logging.getLogger(__name__)


class Snapshots:
    """PNGs of composited frames for the run report, written off the frame path by a worker thread.

    ``overlay.png``: the first frame with the full graphics, replaced by the one ``after_s`` seconds
    later (a short run still leaves one; a run without telemetry leaves the bare picture after ``after_s``);
    ``overlay-<event>.png``: the first frame with a fully open banner of each kind (goal, card, substitution).
    """

    def __init__(self, out_dir: Path | None, canvas: Canvas, after_s: float) -> None:
        self.out_dir = out_dir
        self.canvas = canvas
        self.after_ns = round(after_s * NS_PER_S)
        self.written: list[str] = []
        self._seen_ns: int | None = None  # the first frame
        self._full_ns: int | None = None  # the first frame with the full graphics
        self._final = False
        self._events: set[str] = set()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="overlay-png")
        self._pending: list[Future[None]] = []

    def offer(self, frame: Any, layer: Layer | None, at_ns: int) -> None:
        if self.out_dir is None:
            return
        if self._seen_ns is None:
            self._seen_ns = at_ns
        if self._full_ns is None and layer is not None and any(not p.essential for p in layer.placements):
            self._full_ns = at_ns
            self._save(frame, "overlay.png")
        elif not self._final and at_ns - (self._full_ns or self._seen_ns) >= self.after_ns:
            self._final = True
            self._save(frame, "overlay.png")
        if layer is not None and layer.banner is not None and layer.banner not in self._events \
                and layer.banner_open(at_ns):
            self._events.add(layer.banner)
            self._save(frame, f"overlay-{layer.banner}.png")

    def _save(self, frame: Any, name: str) -> None:
        copy = self.canvas.backend.xp.array(frame)  # the source reuses its frame buffers
        path, canvas = self.out_dir / name, self.canvas

        def save() -> None:  # on the writer thread: RGB only for the PNG
            Image.fromarray(to_rgb(copy, canvas.colour, canvas.layout)).save(path, compress_level=3)

        self._pending.append(self._writer.submit(save))
        if name not in self.written:
            self.written.append(name)

    def close(self) -> None:
        """Waits for the PNGs; one that could not be written is logged, not fatal to the run."""
        self._writer.shutdown(wait=True)
        for future in self._pending:
            if future.exception() is not None:
                log.warning("overlay snapshot not written: %s", future.exception())



def write_stats(path: Path, stats: dict[str, Any]) -> None:
    path.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n", encoding="utf-8")
