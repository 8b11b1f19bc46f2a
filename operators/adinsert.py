"""Ad insertion on the frame path: the compositor operator and the operator that turns Kafka decisions into
plans.

``AdInsertOp`` does, per frame, only what must happen per frame: look up the breaks active at the frame's
presentation time in the latest :class:`~mediagrid.ads.plan.AdPlan` and blend their prepared creatives
into the frame in place (region only, integer arithmetic: the same frame, plan and scene give the same bytes).
Plans and scene labels arrive on ``ASYNC_BUFFER`` ports, so a slow decision or classifier never holds a frame
back. A frame that the deadline gate marked ``degraded`` (budget left below the compositor's estimate) passes
through untouched. The creative variant is chosen once per break, from the latest scene label at the break's
first frame, so a break never switches creatives half way.

``DecisionOp`` applies Kafka decisions to the :class:`~mediagrid.ads.plan.AdPlanner` and emits the new
plan; a decision for a creative that is not in the catalogue is dead-lettered to the run's dead-letter topic
(reason ``rejected``) and acknowledged once the dead letter is durable, like a message that fails its schema.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from PIL import Image

from mediagrid.kafka.consumer import KafkaItem
from mediagrid.kafka.checkpoint import Checkpoint
from mediagrid.kafka.topics import encode
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.media import frames
from mediagrid.ads.plan import AdDecision, AdPlan, AdPlanner, DecisionVerdict, Fill
from mediagrid.media.compositor import Canvas, blend, fits, warm_up
from mediagrid.media.yuv import to_rgb
from mediagrid.ads.scene import Scene
from mediagrid.ads.stats import AdStats
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.core import OperatorSpec  # noqa: E402

log = logging.getLogger(__name__)

STAGE = "composite"
STATS_FILE = "ad_insertion.json"
SNAPSHOT_FILE = "ad_insertion.png"


class AdInsertOp(MediagridOp):
    """Composites the active breaks into each frame; ports ``frame`` in/out, optional ``plan`` and ``scene``."""

    def __init__(self, fragment: Any, *args: Any, plan: AdPlan, live_plan: bool, live_scene: bool,
                 stats: AdStats, canvas: Canvas, recorder: OutcomeRecorder, control: RunControl,
                 out_dir: Path | None = None, fallback: Fill | None = None, **kwargs: Any) -> None:
        self.fallback = fallback
        self._avail: tuple[str, Fill | None] = ("", None)  # the avail the last frame was in, and its fill
        self.live_plan = live_plan
        self.live_scene = live_scene
        self.stats = stats
        self.canvas = canvas
        self.out_dir = out_dir
        self._plan = plan
        self._scene: Scene | None = None
        self._variants: dict[str, str] = {}  # break id -> variant chosen at the break's first frame
        self._snapshot: Any = None
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")
        spec.output("frame")
        if self.live_plan:
            spec.input("plan")  # connected as ASYNC_BUFFER: the latest plan, or None before the first
        if self.live_scene:
            spec.input("scene")  # connected as ASYNC_BUFFER

    def start(self) -> None:
        warm_up(self.canvas)

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        # Latest values first: a receive merges the message's metadata, and the frame's must win.
        self._plan = (op_input.receive("plan") if self.live_plan else None) or self._plan
        self._scene = (op_input.receive("scene") if self.live_scene else None) or self._scene
        frame = op_input.receive("frame")
        started = now_ns()
        meta = self.metadata
        counts = self.stats.frames
        if meta[frames.DEGRADED] or meta[frames.REUSE]:
            meta[frames.DEGRADED] = True  # the clean frame is this stage's cheaper variant
            counts.degraded += 1
        elif self._composite(frame, float(meta[frames.PTS]), str(meta.get(frames.BREAK, ""))):
            counts.composited += 1
        else:
            counts.clean += 1
        self.recorder.stage(STAGE, frames.item_id(meta), frames.deadline_of(meta), started,
                            degraded=bool(meta[frames.DEGRADED]))
        op_output.emit(frame, "frame")

    def _composite(self, frame: Any, pts_s: float, avail: str) -> bool:
        fills = self._plan.active(pts_s)
        if avail:
            fills = (*fills, *self._avail_fill(avail))
        drawn = False
        label = self._scene.label if self._scene is not None else None
        for fill in fills:
            variant = self._variants.get(fill.decision.break_id)
            if variant is None:
                variant = self._variants[fill.decision.break_id] = fill.variant_for(label)
            overlay = fill.overlays[variant]
            if not fits(frame, overlay):
                self.stats.frames.skipped_fills += 1
                continue
            blend(frame, overlay)
            by_creative = self.stats.frames.by_creative
            by_creative[fill.decision.creative_id] = by_creative.get(fill.decision.creative_id, 0) + 1
            drawn = True
        if len(self._variants) > 2 * len(fills) + 16:  # forget ended breaks now and then, not every frame
            active = {fill.decision.break_id for fill in fills}
            self._variants = {k: v for k, v in self._variants.items() if k in active}
        if drawn and self._snapshot is None and self.out_dir is not None:
            self._snapshot = self.canvas.backend.xp.array(frame)  # a copy, made RGB at stop(), off the frame path
        return drawn

    def _avail_fill(self, avail: str) -> tuple[Fill, ...]:
        """The fill of the avail a live feed's cue opened, chosen at its first frame and kept to its end: the
        decision keyed by the avail's id if one came in time, else the fallback, else none."""
        counts = self.stats.avails
        counts.frames += 1
        if self._avail[0] != avail:
            fill = self._plan.for_break(avail)
            if fill is not None:
                counts.decided += 1
            elif self.fallback is not None:
                fill = self.fallback
                counts.fallback += 1
            else:
                counts.unfilled += 1
            log.info("ad avail %s: %s", avail, fill.decision.creative_id if fill else "no creative (unfilled)")
            self._avail = (avail, fill)
        fill = self._avail[1]
        return (fill,) if fill is not None else ()

    def stop(self) -> None:
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / STATS_FILE).write_text(json.dumps(self.stats.as_dict(), indent=2) + "\n")
        if self._snapshot is not None:
            rgb = to_rgb(self._snapshot, self.canvas.colour, self.canvas.layout)
            Image.fromarray(rgb).save(self.out_dir / SNAPSHOT_FILE, compress_level=3)


class DecisionOp(MediagridOp):
    """Kafka ``ads.decisions`` batches in (port ``items``), the new :class:`AdPlan` out (port ``plan``)."""

    def __init__(self, fragment: Any, *args: Any, planner: AdPlanner, checkpoint: Checkpoint, stats: AdStats,
                 control: RunControl, **kwargs: Any) -> None:
        self.planner = planner
        self.checkpoint = checkpoint
        self.stats = stats
        super().__init__(fragment, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("items")
        spec.output("plan")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        items: list[KafkaItem] = op_input.receive("items")
        handled: list[KafkaItem] = []
        version = self.planner.plan().version
        for item in items:
            decision = AdDecision.from_message(item.value)
            if self.planner.accept(decision) is DecisionVerdict.UNKNOWN_CREATIVE:
                self._dead_letter(item, f"unknown creative {decision.creative_id!r}: not in this node's "
                                        f"ad_insertion.creatives catalogue (break {decision.break_id})")
            else:
                handled.append(item)
        if handled:
            self.checkpoint.handled(handled)
        if self.planner.plan().version != version:
            op_output.emit(self.planner.plan(), "plan")

    def _dead_letter(self, item: KafkaItem, reason: str) -> None:
        def counted() -> None:
            self.stats.dead_letters += 1

        self.checkpoint.dead_letter((item.topic, item.partition, item.offset), item.timestamp_ms, encode(item.value),
                                    item.key, reason, counted)
