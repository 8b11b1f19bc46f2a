"""The live source (a feed played out by its PTS) and the HLS sink, written once for numpy and cupy.

The source polls a few times per frame period: the feed's reader thread (:mod:`mediagrid.broadcast.feed`) has
already decoded the pictures, so a poll only moves what is due into the graph, applies SCTE-35 cues to the break
book, and stamps each frame with its break. A node that falls behind skips to the newest due picture and records
the ones passed over as ``dropped``; a feed that goes quiet is bridged with stand-ins counted ``degraded``.
"""
from __future__ import annotations

import json
import time
from typing import Any

from mediagrid.broadcast.files import write_atomically
from mediagrid.broadcast.hls import HlsSettings, HlsWriter
from mediagrid.broadcast.live_input import LiveInput, seconds
from mediagrid.broadcast.program import EncoderSettings, ProgramEncoder
from mediagrid.broadcast.ts_out import TsWriter
from mediagrid.media import frames
from mediagrid.media.codecs import RING, PlaneRing, frame_layout
from mediagrid.media.yuv import empty, planes
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import NS_PER_S, now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.runtime.device import Backend
from mediagrid.scheduler.deadline import Deadline
from mediagrid.operators.base import MediagridOp
from mediagrid.operators.video import ENCODE_STAGE, SOURCE_STAGE, FrameSinkOp

import_holoscan()
from holoscan.conditions import PeriodicCondition, PeriodicConditionPolicy  # noqa: E402
from holoscan.core import OperatorSpec  # noqa: E402

POLLS_PER_FRAME = 4  # a frame leaves at most a quarter period after its instant
STATUS_EVERY_NS = NS_PER_S


class LiveSourceOp(MediagridOp):
    """Plays the live input out into the graph (see the module docstring)."""

    def __init__(self, fragment: Any, *args: Any, live: LiveInput, stream_id: str, budget_ns: int,
                 recorder: OutcomeRecorder, control: RunControl, backend: Backend, **kwargs: Any) -> None:
        self.live = live
        self.stream_id = stream_id
        self.budget_ns = budget_ns
        self.backend = backend
        self._stand_ins = PlaneRing(frame_layout(backend), RING, live.settings.url)
        fmt = live.format
        self._slate = empty(fmt.width, fmt.height)
        luma, *chroma = planes(self._slate, frame_layout(backend))
        luma[...] = 16  # black, limited range
        for plane in chroma:
            plane[...] = 128
        self._next_index = 0
        self._feed_pts: int | None = None
        poll_ns = round(NS_PER_S / fmt.fps / POLLS_PER_FRAME)
        pacing = PeriodicCondition(fragment, poll_ns, policy=PeriodicConditionPolicy.NO_CATCH_UP_MISSED_TICKS,
                                   name=f"{kwargs.get('name', 'source')}_poll")
        super().__init__(fragment, pacing, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.output("frame")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        live, feed = self.live, self.live.feed
        while not feed.frames.empty():
            picture = feed.frames.get_nowait()
            live.playout.push(picture.pts, picture.arrival_ns, picture)
            self._feed_pts = picture.pts
        if self._feed_pts is not None:
            live.take_cues(self._feed_pts)
        at_ns = now_ns()
        if self.control.should_stop(self._next_index, at_ns):
            self.stop_execution()
            return
        slot, _ = live.playout.poll(at_ns)
        if slot is None:
            return
        if self._next_index == 0:
            self.control.start_clock()
        for lost in range(self._next_index, slot.index):  # pictures passed over, or never sent, while behind
            if slot.index - lost > 2 * RING:
                break
            deadline = Deadline.from_budget(slot.due_ns - (slot.index - lost) * live.playout.period_ns,
                                            self.budget_ns)
            item = f"{self.stream_id}:{lost}"
            self.recorder.stage(SOURCE_STAGE, item, deadline, deadline.origin_ns, at_ns, dropped=True)
            self.recorder.finish(item, deadline, at_ns, dropped=True, stage=SOURCE_STAGE)
        self._next_index = slot.index + 1
        stand_in = slot.item is None
        frame = self._stand_in() if stand_in else self.backend.asarray(slot.item.buffer)
        deadline = Deadline.from_budget(slot.due_ns, self.budget_ns)
        meta = self.metadata
        frames.stamp(meta, stream=self.stream_id, index=slot.index, pts=seconds(slot.pts), deadline=deadline)
        meta[frames.DEGRADED] = stand_in
        meta[frames.ARRIVAL_NS] = 0 if stand_in else slot.item.arrival_ns
        active = live.book.active(slot.pts)
        meta[frames.BREAK] = active.break_id if active is not None else ""
        self.recorder.stage(SOURCE_STAGE, frames.item_id(meta), deadline, deadline.origin_ns, degraded=stand_in)
        op_output.emit(frame, "frame")

    def _stand_in(self) -> Any:
        """The last picture held (a fresh copy: the one in the graph may have been composited over) or a slate."""
        picture = self.live.feed.last_picture() if self.live.settings.on_loss == "hold" else None
        return self.backend.asarray(self._stand_ins.put(picture) if picture is not None else self._slate)


class HlsSinkOp(FrameSinkOp):
    """Publishes frames as live HLS (:class:`~mediagrid.broadcast.hls.HlsWriter`), signals the live input's ad
    breaks in the playlist, and keeps ``status.json`` (the outcome counters the player page shows) current."""

    def __init__(self, fragment: Any, *args: Any, settings: HlsSettings, live: LiveInput | None, fps: float,
                 frame_size: tuple[int, int], colour: Any, app_name: str, backend: Backend,
                 **kwargs: Any) -> None:
        self.settings = settings
        self.live = live
        self.app_name = app_name
        feed = live.feed if live is not None else None
        self.writer = HlsWriter(settings, fps=fps, width=frame_size[0], height=frame_size[1], colour=colour,
                                layout=frame_layout(backend), audio=feed.audio if feed else None,
                                audio_format=feed.audio_format if feed else None)
        self._break = ""
        self._status_at = 0
        super().__init__(fragment, *args, backend=backend, **kwargs)

    def start(self) -> None:
        self.writer.open()

    def deliver(self, frame: Any) -> None:
        started = now_ns()
        meta = self.metadata
        origin = int(meta[frames.ORIGIN_NS])
        self._signal_break(str(meta.get(frames.BREAK, "")), origin)
        self.writer.write(self.backend.to_host(frame), int(meta[frames.INDEX]), round(float(meta[frames.PTS]) * 90_000),
                          origin, int(meta.get(frames.ARRIVAL_NS, 0)))
        self.recorder.stage(ENCODE_STAGE, frames.item_id(meta), frames.deadline_of(meta), started,
                            degraded=bool(meta[frames.DEGRADED]))
        if started - self._status_at >= STATUS_EVERY_NS:
            self._status_at = started
            self.write_status(live=True)

    def _signal_break(self, current: str, origin_ns: int) -> None:
        if current == self._break or self.live is None:
            return
        if self._break:
            ended = self.live.find_break(self._break)
            self.writer.break_ended(self._break, origin_ns, ended.in_cue.hex if ended and ended.in_cue else None)
        if current:
            started = self.live.find_break(current)
            self.writer.break_started(current, origin_ns, started.planned_duration_s if started else None,
                                      started.out_cue.hex if started else None)
        self._break = current

    def write_status(self, *, live: bool) -> None:
        status = {"app": self.app_name, "updated_ms": time.time_ns() // 1_000_000, "live": live,
                  "outcomes": self.recorder.counts(),
                  "hls": {"segments": self.writer.counts.segments, "frames": self.writer.counts.frames,
                          **self.writer.counts.latency()}}
        if self.live is not None:
            status["breaks"] = dict(vars(self.live.book.counts))
            status["feed"] = {k: v for k, v in vars(self.live.feed.counts).items() if isinstance(v, int)}
        write_atomically(self.settings.directory / "status.json", json.dumps(status))

    def stop(self) -> None:
        self.writer.close()
        self.write_status(live=False)


class TsSinkOp(FrameSinkOp):
    """Pushes frames as live MPEG-TS (:class:`~mediagrid.broadcast.ts_out.TsWriter`) with the live input's audio
    and its SCTE-35 cues re-stamped."""

    def __init__(self, fragment: Any, *args: Any, url: str, live: LiveInput | None, fps: float,
                 frame_size: tuple[int, int], colour: Any, codec: str, preset: str, backend: Backend,
                 **kwargs: Any) -> None:
        feed = live.feed if live is not None else None
        program = ProgramEncoder(EncoderSettings(codec, preset), fps=fps, width=frame_size[0], height=frame_size[1],
                                 colour=colour, layout=frame_layout(backend), audio=feed.audio if feed else None,
                                 audio_format=feed.audio_format if feed else None)
        self.writer = TsWriter(url, program, live.passed_on if live is not None else None)
        super().__init__(fragment, *args, backend=backend, **kwargs)

    def start(self) -> None:
        self.writer.open()

    def deliver(self, frame: Any) -> None:
        started = now_ns()
        meta = self.metadata
        self.writer.write(self.backend.to_host(frame), int(meta[frames.INDEX]), round(float(meta[frames.PTS]) * 90_000))
        self.recorder.stage(ENCODE_STAGE, frames.item_id(meta), frames.deadline_of(meta), started,
                            degraded=bool(meta[frames.DEGRADED]))

    def stop(self) -> None:
        self.writer.close()
