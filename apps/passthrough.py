"""The passthrough video app: paced source → deadline gate → per-frame work → sink.

The smallest pipeline that is true end to end: frames are born on a live tick grid with a deadline, the gate
applies the configured policy before the work stage, and every frame ends in one recorded outcome.
"""
from __future__ import annotations

from mediagrid.apps.base import MediagridApp
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.operators.deadline import DeadlineGateOp
from mediagrid.apps.video_io import make_sink, make_source, stream_format
from mediagrid.operators.video import RegionInvertOp

import_holoscan()
from holoscan.schedulers import GreedyScheduler  # noqa: E402


class PassthroughApp(MediagridApp):
    DEADLINE = "frame"

    def compose(self) -> None:
        config, ctx = self.mg_config, self.ctx
        own = config.sections.get("passthrough", {})
        region = own.get("region", {"x": 0, "y": 0, "w": 256, "h": 256})
        stream = stream_format(config, ctx)
        source = make_source(self, config, ctx, config.deadlines.budget_ns("frame"),
                             fps=stream.fps, stream=stream)
        gate = DeadlineGateOp(self, stage="gate", estimate_ms=own.get("process_estimate_ms", 1.0),
                              policy=config.deadlines.policy, recorder=ctx.recorder, control=ctx.control,
                              name="gate")
        work = RegionInvertOp(self, region=(region["x"], region["y"], region["w"], region["h"]),
                              recorder=ctx.recorder, control=ctx.control, backend=ctx.backend, name="process")
        sink = make_sink(self, config, ctx, stream)
        # Default ports (capacity 1, back-pressure): the greedy scheduler runs one frame through the whole
        # chain before the source ticks again, so a queue never forms; lateness is counted at the source.
        self.add_flow(source, gate, {("frame", "frame")})
        self.add_flow(gate, work, {("frame", "frame")})
        self.add_flow(work, sink, {("frame", "frame")})
        self.scheduler(GreedyScheduler(self, stop_on_deadlock=True, name="greedy"))
