"""The sports overlay app: broadcaster telemetry from Kafka drawn onto live video as broadcast graphics.

Two paths meet at the compositor (see :mod:`mediagrid.operators.overlay`): telemetry batches update the
match state and the overlay layer whenever they arrive; frames are paced by the video source, pass the
deadline gate and get the newest layer blended in. An event-based scheduler with two workers runs them, so
that a telemetry batch is handled when it arrives, not at the next frame tick. Frames are the end-to-end items
(``DEADLINE = "frame"``); every telemetry message ends in one outcome of the ``telemetry`` stage
(:mod:`mediagrid.overlay.ledger`). Besides ``summary.json`` the run directory gets
``overlay.json`` (what became of the telemetry, what was painted) and snapshot PNGs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mediagrid.apps.base import MediagridApp
from mediagrid.apps.video_io import make_sink, make_source, stream_format
from mediagrid.errors import UsageError
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import now_ns
from mediagrid.operators.deadline import DeadlineGateOp
from mediagrid.operators.kafka import KafkaSourceOp
from mediagrid.operators.overlay import CompositeOp, MatchStateOp, OverlayRenderOp
from mediagrid.overlay.snapshots import Snapshots, write_stats
from mediagrid.overlay.ledger import TelemetryLedger
from mediagrid.overlay.paint import Fonts, Painter
from mediagrid.overlay.render import Camera, LayerBuilder, Style
from mediagrid.overlay.state import MatchState

import_holoscan()
from holoscan.core import IOSpec  # noqa: E402
from holoscan.schedulers import EventBasedScheduler  # noqa: E402

ROLE = "sports.telemetry"
TRACKING_HZ = 25  # frame messages per second, as the topic schema says
SCHEDULER_WORKERS = 2


class SportsOverlayApp(MediagridApp):
    DEADLINE = "frame"

    def compose(self) -> None:
        config, ctx = self.mg_config, self.ctx
        own = config.sections["sports_overlay"]
        graphics = own["graphics"]
        stream = stream_format(config, ctx)
        width, height, canvas = stream.width, stream.height, stream.canvas(ctx)
        try:
            camera = Camera(own["camera"]["corners"], width, height)
        except ValueError as exc:
            raise UsageError(f"{config.path}: sports_overlay.camera.corners: {exc}") from exc
        builder = LayerBuilder(Painter(Fonts(Path(graphics["font"]), Path(graphics["bold_font"])), height), camera,
                               Style.from_config(graphics), width, height, canvas)
        state = MatchState(own.get("match_id"), trail_len=max(round(graphics["trail_s"] * TRACKING_HZ), 2))
        ledger = TelemetryLedger(ctx.recorder, config.deadlines.budget_ns("telemetry"))
        bridge = ctx.kafka.consume([ROLE])  # last: everything that can reject the config has run

        def finish() -> None:
            """After the graph (the compositor has closed its snapshots): the counters to the run directory."""
            ledger.close(now_ns())
            if ctx.out_dir is not None:
                write_stats(ctx.out_dir / "overlay.json", {
                    "telemetry": {**{v.value: n for v, n in state.counts.items()}, **ledger.counts},
                    "layers": builder.version, "painted": dict(builder.painted), "frames": dict(comp.counts),
                    "frame_size": [width, height], "snapshots": comp.snapshots.written,
                })

        kafka_in = KafkaSourceOp(self, bridge=bridge, control=ctx.control, max_batch=own["max_batch"],
                                 name="kafka_in")
        match_state = MatchStateOp(self, state=state, ledger=ledger, checkpoint=bridge.checkpoint, control=ctx.control,
                                   name="match_state")
        render = OverlayRenderOp(self, builder=builder, ledger=ledger, control=ctx.control, name="render")
        source = make_source(self, config, ctx, config.deadlines.budget_ns(self.DEADLINE),
                             fps=stream.fps, stream=stream)
        gate = DeadlineGateOp(self, stage="gate", estimate_ms=own["composite_estimate_ms"],
                              policy=config.deadlines.policy, recorder=ctx.recorder, control=ctx.control, name="gate")
        comp = CompositeOp(self, ledger=ledger, recorder=ctx.recorder, control=ctx.control, backend=ctx.backend,
                           snapshots=Snapshots(ctx.out_dir, canvas, own["snapshot_after_s"]),
                           frame_size=(width, height), name="composite")
        ctx.resources.callback(finish)
        sink = make_sink(self, config, ctx, stream)
        # Default ports (capacity 1, back-pressure) on both paths: a Kafka batch waits in the bridge's
        # bounded queue (where the consumer sees it and pauses), and the next one is then bigger; frames
        # never queue, lateness is counted at the source. The layer reaches the frame path as a latest value.
        self.add_flow(kafka_in, match_state, {("items", "items")})
        self.add_flow(match_state, render, {("view", "view")})
        self.add_flow(render, comp, {("layer", "layer")}, IOSpec.ConnectorType.ASYNC_BUFFER)
        self.add_flow(source, gate, {("frame", "frame")})
        self.add_flow(gate, comp, {("frame", "frame")})
        self.add_flow(comp, sink, {("frame", "frame")})
        self.scheduler(self.make_scheduler())

    def make_scheduler(self) -> Any:
        """Event-based, because telemetry must not wait for the next frame tick: the greedy scheduler
        sleeps until its next timed job while the Kafka source's event is pending, which puts telemetry one
        frame later (p50 35 instead of 20 ms at 50 fps; perf/results/sports_overlay*.md). The price is a
        second thread beside the frame path: frame p99 18 instead of 9 ms, well inside the 20 ms budget."""
        return EventBasedScheduler(self, worker_thread_number=SCHEDULER_WORKERS, stop_on_deadlock=True,
                                   stop_on_deadlock_timeout=200, name="event_based")
