"""The ad insertion app: creatives composited into a live stream where and when ad decisions say, every frame
inside its deadline.

Frame path (``ad_insertion.workers``: 1 runs it on the greedy scheduler, 2 or more on the event-based one)::

    source -> gate -> tap -> composite -> sink
                       |        ^    ^
                       v        |    | ASYNC_BUFFER (latest plan)
                   context -----+    decisions <- kafka_in   (only with a kafka section)
                     ASYNC_BUFFER (latest scene)

The gate passes a frame on without the creative when its remaining budget is below the compositor's
estimate (policy ``degrade``) or drops it (``drop``). Decisions from the local schedule file are planned
before the graph starts; Kafka decisions are planned as they arrive, off the frame path.
"""
from __future__ import annotations

from typing import Any

from mediagrid.apps.base import MediagridApp
from mediagrid.apps.video_io import make_sink, make_source, stream_format
from mediagrid.ads.stats import AdStats
from mediagrid.operators.adinsert import AdInsertOp, DecisionOp
from mediagrid.ads.plan import ROLE, AdDecision, AdPlanner, Fill, Slot, load_catalogue, load_schedule
from mediagrid.errors import UsageError
from mediagrid.operators.ad_context import ContextSamplerOp, ThumbnailTapOp
from mediagrid.operators.deadline import DeadlineGateOp
from mediagrid.operators.kafka import KafkaSourceOp
from mediagrid.config.checks import path_of
from mediagrid.runtime.bootstrap import import_holoscan

import_holoscan()
from holoscan.core import IOSpec  # noqa: E402
from holoscan.schedulers import EventBasedScheduler, GreedyScheduler  # noqa: E402

ASYNC = IOSpec.ConnectorType.ASYNC_BUFFER


def _scheduler(app: MediagridApp, workers: int) -> Any:
    """One worker: the greedy scheduler, one frame through the whole path at a time (no queue can form, a
    late tick is dropped at the source). More: the event-based scheduler. Codecs and numpy release
    the GIL, so the next frame decodes while this one is composited and encoded: after one slow frame the next
    is late by the overrun only, not by its own decode too, and scene sampling and planning run beside the
    frame path (free running, a 600-frame 720p clip took about a quarter less time with two workers than
    greedy). A frame's own latency stays decode + composite + encode, and a path that stays slower than the
    frame rate queues a few frames (one per port) before ticks are dropped."""
    if workers == 1:
        return GreedyScheduler(app, stop_on_deadlock=True, name="greedy")
    return EventBasedScheduler(app, worker_thread_number=workers, stop_on_deadlock=True,
                               stop_on_deadlock_timeout=100, name="event")


def _avail_fallback(planner: AdPlanner, own: dict[str, Any], where: Any) -> Fill | None:
    """The creative for avails that no decision names in time (``ad_insertion.avails.fallback``), prepared now."""
    spec = own.get("avails", {}).get("fallback")
    if spec is None:
        return None
    decision = AdDecision(planner.stream_id, "avails.fallback", spec["creative_id"], Slot(**spec["slot"]), 0.0, 0.0)
    fill = planner.prepare(decision)
    if fill is None:
        raise UsageError(f"{where}: ad_insertion.avails.fallback.creative_id {spec['creative_id']!r} is not in "
                         "ad_insertion.creatives")
    return fill


class AdInsertionApp(MediagridApp):
    DEADLINE = "frame"

    def compose(self) -> None:
        config, ctx = self.mg_config, self.ctx
        own = config.sections["ad_insertion"]
        stream = stream_format(config, ctx)
        stats = AdStats()
        ctx.reports["ads"] = stats.as_dict
        stats.planner = planner = AdPlanner(load_catalogue(own["creatives"]), (stream.width, stream.height),
                                            stream.canvas(ctx),
                                            stream_id=own["stream_id"], max_breaks=own["max_breaks"])
        if "schedule" in own:
            for decision in load_schedule(path_of(own["schedule"]), own["stream_id"]):
                planner.accept(decision)
        fallback = _avail_fallback(planner, own, config.path)
        common = dict(recorder=ctx.recorder, control=ctx.control)

        source = make_source(self, config, ctx, config.deadlines.budget_ns(self.DEADLINE), pacing=own["pacing"],
                             fps=stream.fps, stream=stream)
        gate = DeadlineGateOp(self, stage="gate", estimate_ms=own["composite_estimate_ms"],
                              policy=config.deadlines.policy, name="gate", **common)
        sampling = own["context"]["every_s"] > 0
        composite = AdInsertOp(self, plan=planner.plan(), live_plan=ctx.kafka is not None, live_scene=sampling,
                               stats=stats, canvas=stream.canvas(ctx),
                               out_dir=ctx.out_dir if own["snapshot"] else None, fallback=fallback,
                               name="composite", **common)
        sink = make_sink(self, config, ctx, stream)

        self.add_flow(source, gate, {("frame", "frame")})
        if sampling:
            tap = ThumbnailTapOp(self, every_s=own["context"]["every_s"], width=own["context"]["thumb_width"],
                                 canvas=stream.canvas(ctx), control=ctx.control, name="tap")
            sampler = ContextSamplerOp(self, control=ctx.control, name="context")
            stats.context = sampler.counts
            self.add_flow(gate, tap, {("frame", "frame")})
            self.add_flow(tap, composite, {("frame", "frame")})
            self.add_flow(tap, sampler, {("thumb", "thumb")})
            self.add_flow(sampler, composite, {("scene", "scene")}, ASYNC)
        else:
            self.add_flow(gate, composite, {("frame", "frame")})
        if ctx.kafka is not None:
            bridge = ctx.kafka.consume([ROLE])
            kafka_in = KafkaSourceOp(self, bridge=bridge, control=ctx.control, name="kafka_in")
            decisions = DecisionOp(self, planner=planner, checkpoint=bridge.checkpoint, stats=stats,
                                   control=ctx.control, name="decisions")
            self.add_flow(kafka_in, decisions, {("items", "items")})
            self.add_flow(decisions, composite, {("plan", "plan")}, ASYNC)
        self.add_flow(composite, sink, {("frame", "frame")})
        self.scheduler(_scheduler(self, own["workers"]))
