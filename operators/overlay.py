"""The sports overlay's three Holoscan operators: match state, renderer and compositor.

Telemetry and frames travel separate paths that meet only at the compositor::

    kafka_in -> match_state -> render --(ASYNC_BUFFER: latest layer)--> composite
                               source -> gate ----------------------> composite -> sink

The layer port is an ``ASYNC_BUFFER`` connector: the compositor reads whatever layer is newest when a
frame arrives (``None`` before the first) and never waits for telemetry, and the renderer never waits
for frames. State and renderer run once per Kafka batch, so a burst of telemetry coalesces into fewer
layers rather than a queue; the frame path is paced by the video source alone.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mediagrid.errors import MediaError
from mediagrid.kafka.consumer import KafkaItem
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import NS_PER_S, now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.runtime.device import Backend
from mediagrid.operators import frames
from mediagrid.operators.guard import guarded
from mediagrid.operators.compositor import Scratch
from mediagrid.operators.overlay_composite import Layer, composite
from mediagrid.operators.overlay_ledger import TelemetryLedger
from mediagrid.operators.overlay_render import LayerBuilder
from mediagrid.operators.overlay_state import MatchState, MatchView

import_holoscan()
from holoscan.core import Operator, OperatorSpec  # noqa: E402

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ViewUpdate:
    """A new match snapshot and the messages that went into it since the previous one."""

    view: MatchView
    items: list[KafkaItem]


class MatchStateOp(Operator):
    """Applies each Kafka batch to the :class:`MatchState`, acknowledges it (every message in it has its
    verdict and is accounted for), and emits a :class:`ViewUpdate` when anything was taken."""

    def __init__(self, fragment: Any, *args: Any, state: MatchState, ledger: TelemetryLedger,
                 ack: Callable[[list[KafkaItem]], None], control: RunControl, **kwargs: Any) -> None:
        self.state = state
        self.ledger = ledger
        self.ack = ack
        self.control = control
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("items")
        spec.output("view")

    @guarded
    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        items: list[KafkaItem] = op_input.receive("items")
        at_ns = now_ns()
        taken = []
        for item in items:
            late = self.ledger.deadline(item).remaining_ns(at_ns) < 0
            verdict = self.state.apply(item.value, late=late, at_ns=at_ns)
            if verdict.taken:
                taken.append(item)
            else:
                self.ledger.skipped(item, verdict, at_ns)
        self.ack(items)
        if taken:
            op_output.emit(ViewUpdate(self.state.view(), taken), "view")


class OverlayRenderOp(Operator):
    """Builds the next :class:`Layer` from each snapshot and publishes it on ``layer``."""

    def __init__(self, fragment: Any, *args: Any, builder: LayerBuilder, ledger: TelemetryLedger,
                 control: RunControl, **kwargs: Any) -> None:
        self.builder = builder
        self.ledger = ledger
        self.control = control
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("view")
        spec.output("layer")

    @guarded
    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        update: ViewUpdate = op_input.receive("view")
        layer = self.builder.build(update.view)
        self.ledger.taken(layer.version, update.items)
        op_output.emit(layer, "layer")


class Snapshots:
    """PNGs of composited frames for the run report, written off the frame path by a worker thread.

    ``overlay.png``: the first frame with the full graphics, replaced by the one ``after_s`` seconds
    later (a short run still leaves one; a run without telemetry leaves the bare picture after ``after_s``);
    ``overlay-<event>.png``: the first frame with a fully open banner of each kind (goal, card, substitution).
    """

    def __init__(self, out_dir: Path | None, backend: Backend, after_s: float) -> None:
        self.out_dir = out_dir
        self.backend = backend
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
        host = np.array(self.backend.to_host(frame))  # a copy: the source reuses its frame buffers
        path = self.out_dir / name
        self._pending.append(self._writer.submit(lambda: Image.fromarray(host).save(path, compress_level=3)))
        if name not in self.written:
            self.written.append(name)

    def close(self) -> None:
        """Waits for the PNGs; one that could not be written is logged, not fatal to the run."""
        self._writer.shutdown(wait=True)
        for future in self._pending:
            if future.exception() is not None:
                log.warning("overlay snapshot not written: %s", future.exception())


class CompositeOp(Operator):
    """Blends the newest layer onto each frame in place, records the ``composite`` stage, and tells the
    ledger which telemetry the frame shows.

    Degraded frames (the gate's ``degrade``/``reuse`` decision) get only the essential graphics: score,
    clock and banners; the ``reuse`` policy means reusing the last layer, which every frame does anyway.
    """

    STAGE = "composite"

    def __init__(self, fragment: Any, *args: Any, ledger: TelemetryLedger, recorder: OutcomeRecorder,
                 control: RunControl, backend: Backend, snapshots: Snapshots, frame_size: tuple[int, int],
                 on_stop: Callable[[CompositeOp], None], **kwargs: Any) -> None:
        self.ledger = ledger
        self.frame_size = frame_size
        self.recorder = recorder
        self.control = control
        self.backend = backend
        self.snapshots = snapshots
        self.on_stop = on_stop
        self.counts: Counter[str] = Counter()
        self._scratch = Scratch(backend.xp)
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")
        spec.input("layer")
        spec.output("frame")

    @guarded
    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        frame = op_input.receive("frame")
        layer: Layer | None = op_input.receive("layer")
        started = now_ns()
        if (frame.shape[1], frame.shape[0]) != self.frame_size:
            raise MediaError(f"frames are {frame.shape[1]}x{frame.shape[0]} but the overlay is laid out for "
                             f"{self.frame_size[0]}x{self.frame_size[1]}: the stream changed its resolution")
        meta = self.metadata
        deadline = frames.deadline_of(meta)
        degraded = bool(meta[frames.DEGRADED] or meta[frames.REUSE])
        if layer is not None:
            # animations run on the frame's own time, so a late frame shows what its instant showed
            self.counts["pixels"] += composite(frame, layer, deadline.origin_ns, self._scratch,
                                               essential_only=degraded)
        finished = now_ns()
        self.counts["degraded" if degraded else "full"] += 1
        if not degraded:
            if layer is not None:
                self.ledger.shown(layer.version, finished)
            self.snapshots.offer(frame, layer, deadline.origin_ns)
        meta[frames.DEGRADED] = degraded
        self.recorder.stage(self.STAGE, frames.item_id(meta), deadline, started, finished, degraded=degraded)
        op_output.emit(frame, "frame")

    def stop(self) -> None:
        self.snapshots.close()
        self.on_stop(self)


def write_stats(path: Path, stats: dict[str, Any]) -> None:
    path.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n", encoding="utf-8")
