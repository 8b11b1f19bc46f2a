"""Video sources and sinks, written once for numpy and cupy.

With ``pacing="realtime"`` (the default) sources behave like a live feed: frame ``i`` belongs to the tick
``t0 + i / fps`` of a fixed grid (a ``PeriodicCondition`` that never catches up). When the node falls behind,
the frames whose tick has passed are not queued for later, they are recorded as ``dropped`` at the
``source`` stage, exactly as a live capture would lose them, so a slow node shows up in the counts instead
of as a growing delay. With ``pacing="throughput"`` a source has no tick: it emits the next frame as soon as
the path downstream has room (file transcoding, capacity measurements), each frame's budget counting from
its emission, and no frame is ever lost.

Frames are 4:2:0 YUV buffers (:mod:`mediagrid.media.yuv`). File decoding and encoding live in
:mod:`mediagrid.media.codecs` (PyAV on the CPU, NVDEC/NVENC on a GPU), so benchmarks use exactly what the
operators use.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal


from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import NS_PER_MS, NS_PER_S, now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.runtime.device import Backend
from mediagrid.scheduler.deadline import Deadline
from mediagrid.media import frames
from mediagrid.media.patterns import synthetic_pattern
from mediagrid.media.codecs import RING, FrameReader, FrameWriter, frame_layout, open_reader, open_writer
from mediagrid.media.yuv import Colour, empty, from_rgb, planes
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.conditions import PeriodicCondition, PeriodicConditionPolicy  # noqa: E402
from holoscan.core import OperatorSpec  # noqa: E402

SOURCE_STAGE = "source"
ENCODE_STAGE = "encode"
_RING = RING  # buffers a stage cycles through; more than the frames that can be in flight at once
_PHASES = 4  # distinct synthetic pictures, shown in turn
WARM_UP_NS = 100 * NS_PER_MS
Pacing = Literal["realtime", "throughput"]
PACINGS: tuple[str, ...] = ("realtime", "throughput")



class PacedSourceOp(MediagridOp):
    """Base of the video sources: tick grid (or free running), drop accounting, limits and stamping."""

    def __init__(self, fragment: Any, *args: Any, stream_id: str, fps: float, budget_ns: int,
                 recorder: OutcomeRecorder, control: RunControl, backend: Backend,
                 pacing: Pacing = "realtime", **kwargs: Any) -> None:
        if pacing not in PACINGS:
            raise ValueError(f"pacing must be one of {', '.join(PACINGS)}, not {pacing!r}")
        self.stream_id = stream_id
        self.period_ns = round(NS_PER_S / fps)
        self.budget_ns = budget_ns
        self.backend = backend
        self.realtime = pacing == "realtime"
        self._t0_ns: int | None = None
        self._warm_until_ns: int | None = None
        self._next_index = 0
        if self.realtime:
            args = (PeriodicCondition(fragment, self.period_ns,
                                      policy=PeriodicConditionPolicy.NO_CATCH_UP_MISSED_TICKS,
                                      name=f"{kwargs.get('name', 'source')}_pacing"), *args)
        # Throughput pacing has no condition of its own: the output port's back-pressure is the only brake.
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.output("frame")

    def frame_for(self, index: int) -> Any | None:
        """The frame of grid slot ``index`` as an array on the backend, or None at the end of the stream."""
        raise NotImplementedError

    def skip(self, index: int) -> None:
        """Called for a slot whose tick passed before the source ran (a file source still reads it)."""

    def _tick_index(self, at_ns: int) -> int:
        if self._t0_ns is None:
            self._t0_ns = at_ns
            self.control.start_clock()
        if not self.realtime:
            return self._next_index
        return max((at_ns - self._t0_ns) // self.period_ns, self._next_index)

    def _origin_ns(self, index: int, at_ns: int) -> int:
        """When frame ``index`` was captured: its tick, or now when free running. A tick that fires a
        little early still cannot capture a frame from the future."""
        return min(self._t0_ns + index * self.period_ns, at_ns) if self.realtime else at_ns

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        at_ns = now_ns()
        if self._warm_until_ns is None:
            self._warm_until_ns = at_ns + WARM_UP_NS
        if at_ns < self._warm_until_ns:
            return
        index = self._tick_index(at_ns)
        for lost in range(self._next_index, index):  # ticks that passed while the node was busy
            if self.control.should_stop(lost, at_ns):
                break
            deadline = Deadline.from_budget(self._t0_ns + lost * self.period_ns, self.budget_ns)
            self.skip(lost)
            self.recorder.stage(SOURCE_STAGE, f"{self.stream_id}:{lost}", deadline, deadline.origin_ns,
                                at_ns, dropped=True)
            self.recorder.finish(f"{self.stream_id}:{lost}", deadline, at_ns, dropped=True, stage=SOURCE_STAGE)
        if self.control.should_stop(index, at_ns):
            self.stop_execution()
            return
        frame = self.frame_for(index)
        if frame is None:
            self.control.request_stop("end_of_stream")
            self.stop_execution()
            return
        self._next_index = index + 1
        deadline = Deadline.from_budget(self._origin_ns(index, at_ns), self.budget_ns)
        frames.stamp(self.metadata, stream=self.stream_id, index=index,
                     pts=index * self.period_ns / NS_PER_S, deadline=deadline)
        self.recorder.stage(SOURCE_STAGE, f"{self.stream_id}:{index}", deadline, deadline.origin_ns)
        op_output.emit(frame, "frame")


class SyntheticSourceOp(PacedSourceOp):
    """Test pictures (BT.709, limited range) at any even size and rate; each frame is a fresh copy into a ring
    of preallocated buffers, which costs what a capture card's DMA into host memory would."""

    def __init__(self, fragment: Any, *args: Any, width: int, height: int, pattern: str = "bars",
                 **kwargs: Any) -> None:
        backend = kwargs["backend"]
        layout = frame_layout(backend)
        self._templates = [backend.asarray(from_rgb(synthetic_pattern(pattern, height, width, phase), Colour(),
                                                    layout)) for phase in range(_PHASES)]
        self._ring = [empty(width, height, backend.xp) for _ in range(_RING)]
        super().__init__(fragment, *args, **kwargs)

    def frame_for(self, index: int) -> Any:
        slot = index % _RING
        self._ring[slot][...] = self._templates[(index // 30) % _PHASES]  # the picture changes twice a second
        return self._ring[slot]


class FileSourceOp(PacedSourceOp):
    """Decodes a media file at the configured rate, optionally looping: PyAV (threaded) on the CPU, NVDEC into
    device memory on a GPU backend (see :func:`~mediagrid.media.codecs.open_reader`)."""

    def __init__(self, fragment: Any, *args: Any, path: Path, loop: bool = False, **kwargs: Any) -> None:
        self.path = Path(path)
        self.loop = loop
        self._reader: FrameReader | None = None
        self._first: Any | None = None
        super().__init__(fragment, *args, **kwargs)

    def start(self) -> None:
        """The first frame is decoded here, before the clock starts: a decoder's first frame costs several
        times a later one (threads starting, buffers allocated), which made the first ticks late."""
        self._reader = open_reader(self.path, self.backend)
        self._first = self._reader.read()

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def skip(self, index: int) -> None:
        if self._first is not None:
            self._first = None
        elif not self._reader.skip() and self.loop:
            self._reader.rewind()
            self._reader.skip()

    def frame_for(self, index: int) -> Any | None:
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        frame = self._reader.read()
        if frame is None and self.loop:
            self._reader.rewind()
            frame = self._reader.read()  # None again only for a file without a single frame
        return frame


class RegionInvertOp(MediagridOp):
    """The passthrough's per-frame work: copy into a preallocated output and invert one region.

    It stands in for any compositing stage: a bounded, region-only write, identical on numpy and cupy.
    Honours the gate's decision: ``degraded`` frames pass unmodified, ``reuse`` frames get the last output.
    """

    STAGE = "process"

    def __init__(self, fragment: Any, *args: Any, region: tuple[int, int, int, int], recorder: OutcomeRecorder,
                 control: RunControl, backend: Backend, **kwargs: Any) -> None:
        self.region = region
        self.backend = backend
        self.layout = frame_layout(backend)
        self._outputs: list[Any] = []
        self._next = 0
        self._last: Any = None
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")
        spec.output("frame")

    def _buffer_like(self, frame: Any) -> Any:
        if not self._outputs or self._outputs[0].shape != frame.shape:
            self._outputs = [self.backend.xp.empty_like(frame) for _ in range(_RING)]
        out = self._outputs[self._next]
        self._next = (self._next + 1) % _RING
        return out

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        frame = op_input.receive("frame")
        started = now_ns()
        meta = self.metadata
        if meta[frames.REUSE] and self._last is not None:
            out = self._last
        elif meta[frames.DEGRADED] or meta[frames.REUSE]:
            out, meta[frames.DEGRADED] = frame, True
        else:
            out = self._buffer_like(frame)
            out[...] = frame
            self._invert(out)
            self._last = out
        self.recorder.stage(self.STAGE, frames.item_id(meta), frames.deadline_of(meta), started,
                            degraded=bool(meta[frames.DEGRADED]))
        op_output.emit(out, "frame")


    def _invert(self, frame: Any) -> None:
        """The region's negative, in every plane (chroma at chroma resolution, the region widened to whole
        2x2 blocks)."""
        x, y, w, h = self.region
        x0, y0, x1, y1 = x // 2, y // 2, (x + w + 1) // 2, (y + h + 1) // 2
        parts = planes(frame, self.layout)
        chroma_cols = (2 * x0, 2 * x1) if self.layout == "nv12" else (x0, x1)
        for plane, (rows, cols) in zip(parts, [((y, y + h), (x, x + w))] + [((y0, y1), chroma_cols)] * 2):
            roi = plane[rows[0]:rows[1], cols[0]:cols[1]]
            self.backend.xp.subtract(255, roi, out=roi)


class FrameSinkOp(MediagridOp):
    """The end of a frame path. The sink contract, shared with the Kafka sink and the program output: an
    item's end-to-end outcome is recorded where its output is durable (written, encoded, delivered), and
    only there; subclasses say in :meth:`deliver` what "durable" means for them."""

    def __init__(self, fragment: Any, *args: Any, recorder: OutcomeRecorder, control: RunControl,
                 backend: Backend | None = None, **kwargs: Any) -> None:
        self.backend = backend
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")

    def deliver(self, frame: Any) -> None:
        """Hand the frame to its destination before its outcome is recorded."""
        raise NotImplementedError

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        frame = op_input.receive("frame")
        self.deliver(frame)
        meta = self.metadata
        self.recorder.finish(frames.item_id(meta), frames.deadline_of(meta),
                             degraded=bool(meta[frames.DEGRADED]), pts=round(float(meta[frames.PTS]), 6))


class NullSinkOp(FrameSinkOp):
    """Ends the path without output. On a GPU the work queued on a frame (compositing kernels) runs
    asynchronously; the null sink waits for the device before recording, so the frame's latency covers that
    work instead of only its launch."""

    def deliver(self, frame: Any) -> None:
        if self.backend is not None and self.backend.device == "gpu":
            frame.device.synchronize()


class FileSinkOp(FrameSinkOp):
    """Encodes frames into a file: libx264/libx265 ``zerolatency`` through PyAV for the x264 presets, NVENC on a
    GPU for ``p1``..``p7`` (see :func:`~mediagrid.media.codecs.open_writer`). Encoding is its own stage."""

    def __init__(self, fragment: Any, *args: Any, path: Path, fps: float, codec: str = "h264",
                 preset: str = "ultrafast", backend: Backend, frame_size: tuple[int, int] | None = None,
                 colour: Colour = Colour(), **kwargs: Any) -> None:
        self.path = Path(path)
        self.fps = fps
        self.codec = codec
        self.preset = preset
        self.frame_size = frame_size
        self.colour = colour
        self._writer: FrameWriter | None = None
        super().__init__(fragment, *args, backend=backend, **kwargs)

    def start(self) -> None:
        """With ``frame_size`` (width, height) known, the encoder starts here rather than on the first frame,
        which would otherwise pay for it (tens of milliseconds: a late frame and dropped ticks)."""
        self._writer = open_writer(self.path, fps=self.fps, codec=self.codec, preset=self.preset,
                                   backend=self.backend, colour=self.colour)
        if self.frame_size is not None:
            self._writer.open(height=self.frame_size[1], width=self.frame_size[0])

    def deliver(self, frame: Any) -> None:
        started = now_ns()
        meta = self.metadata
        self._writer.write(frame, int(meta[frames.INDEX]))
        self.recorder.stage(ENCODE_STAGE, frames.item_id(meta), frames.deadline_of(meta), started,
                            degraded=bool(meta[frames.DEGRADED]))

    def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
