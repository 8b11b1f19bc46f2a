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

from collections import Counter
from dataclasses import dataclass
from typing import Any

from mediagrid.errors import MediaError
from mediagrid.kafka.checkpoint import Checkpoint
from mediagrid.kafka.consumer import KafkaItem
from mediagrid.media import frames
from mediagrid.media.compositor import Scratch
from mediagrid.media.yuv import frame_size
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.overlay.layers import Layer, composite
from mediagrid.overlay.ledger import TelemetryLedger
from mediagrid.overlay.render import LayerBuilder
from mediagrid.overlay.snapshots import Snapshots
from mediagrid.overlay.state import MatchState, MatchView
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.runtime.device import Backend
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.core import OperatorSpec  # noqa: E402


@dataclass(frozen=True, slots=True)
class ViewUpdate:
    """A new match snapshot and the messages that went into it since the previous one."""

    view: MatchView
    items: list[KafkaItem]


class MatchStateOp(MediagridOp):
    """Applies each Kafka batch to the :class:`MatchState`, hands it to the checkpoint (every message in it
    has its verdict and is accounted for), and emits a :class:`ViewUpdate` when anything was taken."""

    def __init__(self, fragment: Any, *args: Any, state: MatchState, ledger: TelemetryLedger,
                 checkpoint: Checkpoint, control: RunControl, **kwargs: Any) -> None:
        self.state = state
        self.ledger = ledger
        self.checkpoint = checkpoint
        super().__init__(fragment, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("items")
        spec.output("view")

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
        self.checkpoint.handled(items)
        if taken:
            op_output.emit(ViewUpdate(self.state.view(), taken), "view")


class OverlayRenderOp(MediagridOp):
    """Builds the next :class:`Layer` from each snapshot and publishes it on ``layer``."""

    def __init__(self, fragment: Any, *args: Any, builder: LayerBuilder, ledger: TelemetryLedger,
                 control: RunControl, **kwargs: Any) -> None:
        self.builder = builder
        self.ledger = ledger
        super().__init__(fragment, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("view")
        spec.output("layer")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        update: ViewUpdate = op_input.receive("view")
        layer = self.builder.build(update.view)
        self.ledger.taken(layer.version, update.items)
        op_output.emit(layer, "layer")



class CompositeOp(MediagridOp):
    """Blends the newest layer onto each frame in place, records the ``composite`` stage, and tells the
    ledger which telemetry the frame shows.

    Degraded frames (the gate's ``degrade``/``reuse`` decision) get only the essential graphics: score,
    clock and banners; the ``reuse`` policy means reusing the last layer, which every frame does anyway.
    """

    STAGE = "composite"

    def __init__(self, fragment: Any, *args: Any, ledger: TelemetryLedger, recorder: OutcomeRecorder,
                 control: RunControl, backend: Backend, snapshots: Snapshots, frame_size: tuple[int, int],
                 **kwargs: Any) -> None:
        self.ledger = ledger
        self.frame_size = frame_size
        self.backend = backend
        self.snapshots = snapshots
        self.counts: Counter[str] = Counter()
        self._scratch = Scratch(backend.xp)
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")
        spec.input("layer")
        spec.output("frame")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        frame = op_input.receive("frame")
        layer: Layer | None = op_input.receive("layer")
        started = now_ns()
        if frame_size(frame) != self.frame_size:
            width, height = frame_size(frame)
            raise MediaError(f"frames are {width}x{height} but the overlay is laid out for "
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

