"""Video sources and sinks, written once for numpy and cupy.

Sources behave like a live feed: frame ``i`` belongs to the tick ``t0 + i / fps`` of a fixed grid (a
``PeriodicCondition`` that never catches up). When the node falls behind, the frames whose tick has passed
are not queued for later, they are recorded as ``dropped`` at the ``source`` stage, exactly as a live
capture would lose them, so a slow node shows up in the counts instead of as a growing delay.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.errors import MediaError
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import NS_PER_S, now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.runtime.device import Backend
from mediagrid.scheduler.deadline import Deadline
from mediagrid.operators import frames
from mediagrid.operators.guard import guarded

import_holoscan()
from holoscan.conditions import PeriodicCondition, PeriodicConditionPolicy  # noqa: E402
from holoscan.core import Operator, OperatorSpec  # noqa: E402

SOURCE_STAGE = "source"
_RING = 4  # buffers a source cycles through; more than the frames that can be in flight at once


def synthetic_pattern(kind: str, height: int, width: int, phase: int = 0) -> np.ndarray:
    """A deterministic RGB test picture: SMPTE-like bars, a gradient, or seeded noise."""
    if kind == "bars":
        colours = np.array(
            [[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0],
             [192, 0, 192], [192, 0, 0], [0, 0, 192]], dtype=np.uint8)
        columns = (np.arange(width) * len(colours) // width + phase) % len(colours)
        return np.ascontiguousarray(np.broadcast_to(colours[columns], (height, width, 3)))
    if kind == "gradient":
        x = (np.arange(width, dtype=np.uint32) * 255 // max(width - 1, 1) + phase) % 256
        y = np.arange(height, dtype=np.uint32) * 255 // max(height - 1, 1)
        frame = np.empty((height, width, 3), dtype=np.uint8)
        frame[..., 0] = x[None, :]
        frame[..., 1] = y[:, None]
        frame[..., 2] = 128
        return frame
    if kind == "noise":
        return np.random.default_rng(phase).integers(0, 256, (height, width, 3), dtype=np.uint8)
    raise ValueError(f"unknown synthetic pattern {kind!r}")


class PacedSourceOp(Operator):
    """Base of the paced video sources: tick grid, drop accounting, limits and stamping."""

    def __init__(self, fragment: Any, *args: Any, stream_id: str, fps: float, budget_ns: int,
                 recorder: OutcomeRecorder, control: RunControl, backend: Backend, **kwargs: Any) -> None:
        self.stream_id = stream_id
        self.period_ns = round(NS_PER_S / fps)
        self.budget_ns = budget_ns
        self.recorder = recorder
        self.control = control
        self.backend = backend
        self._t0_ns: int | None = None
        self._next_index = 0
        pacing = PeriodicCondition(fragment, self.period_ns,
                                   policy=PeriodicConditionPolicy.NO_CATCH_UP_MISSED_TICKS,
                                   name=f"{kwargs.get('name', 'source')}_pacing")
        super().__init__(fragment, pacing, *args, **kwargs)

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
        return max((at_ns - self._t0_ns) // self.period_ns, self._next_index)

    @guarded
    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        at_ns = now_ns()
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
        # A tick that fires a little early still cannot capture a frame from the future.
        deadline = Deadline.from_budget(min(self._t0_ns + index * self.period_ns, at_ns), self.budget_ns)
        frames.stamp(self.metadata, stream=self.stream_id, index=index,
                     pts=index * self.period_ns / NS_PER_S, deadline=deadline)
        self.recorder.stage(SOURCE_STAGE, f"{self.stream_id}:{index}", deadline, deadline.origin_ns)
        op_output.emit(frame, "frame")


class SyntheticSourceOp(PacedSourceOp):
    """Test pictures at any size and rate; each frame is a fresh copy into a ring of preallocated buffers,
    which costs what a capture card's DMA into host memory would."""

    def __init__(self, fragment: Any, *args: Any, width: int, height: int, pattern: str = "bars",
                 **kwargs: Any) -> None:
        xp = kwargs["backend"].xp
        self._templates = [kwargs["backend"].asarray(synthetic_pattern(pattern, height, width, phase))
                           for phase in range(_RING)]
        self._ring = [xp.empty((height, width, 3), dtype=xp.uint8) for _ in range(_RING)]
        super().__init__(fragment, *args, **kwargs)

    def frame_for(self, index: int) -> Any:
        slot = index % _RING
        self._ring[slot][...] = self._templates[(index // 30) % _RING]  # the picture changes twice a second
        return self._ring[slot]


class FileSourceOp(PacedSourceOp):
    """Decodes a media file with PyAV (threaded) at the configured rate, optionally looping."""

    def __init__(self, fragment: Any, *args: Any, path: Path, loop: bool = False, **kwargs: Any) -> None:
        self.path = Path(path)
        self.loop = loop
        self._container: Any = None
        self._frames: Any = None
        super().__init__(fragment, *args, **kwargs)

    def start(self) -> None:
        self._open()

    def stop(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def _open(self) -> None:
        import av  # noqa: PLC0415 - only file sources need PyAV

        try:
            self._container = av.open(str(self.path))
            stream = self._container.streams.video[0]
        except (av.error.FFmpegError, IndexError, OSError) as exc:
            raise MediaError(f"{self.path}: cannot open as video ({exc})") from exc
        stream.thread_type = "AUTO"
        self._frames = self._container.decode(stream)

    def _read(self) -> np.ndarray | None:
        import av  # noqa: PLC0415

        try:
            return next(self._frames).to_ndarray(format="rgb24")
        except StopIteration:
            if not self.loop:
                return None
            self.stop()
            self._open()
            return self._read()
        except av.error.FFmpegError as exc:
            raise MediaError(f"{self.path}: decoding failed ({exc})") from exc

    def skip(self, index: int) -> None:
        self._read()

    def frame_for(self, index: int) -> Any | None:
        frame = self._read()
        return None if frame is None else self.backend.asarray(frame)


class RegionInvertOp(Operator):
    """The passthrough's per-frame work: copy into a preallocated output and invert one region.

    It stands in for any compositing stage: a bounded, region-only write, identical on numpy and cupy.
    Honours the gate's decision: ``degraded`` frames pass unmodified, ``reuse`` frames get the last output.
    """

    STAGE = "process"

    def __init__(self, fragment: Any, *args: Any, region: tuple[int, int, int, int], recorder: OutcomeRecorder,
                 control: RunControl, backend: Backend, **kwargs: Any) -> None:
        self.region = region
        self.recorder = recorder
        self.control = control
        self.backend = backend
        self._outputs: list[Any] = []
        self._next = 0
        self._last: Any = None
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")
        spec.output("frame")

    def _buffer_like(self, frame: Any) -> Any:
        if not self._outputs or self._outputs[0].shape != frame.shape:
            self._outputs = [self.backend.xp.empty_like(frame) for _ in range(_RING)]
        out = self._outputs[self._next]
        self._next = (self._next + 1) % _RING
        return out

    @guarded
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
            x, y, w, h = self.region
            roi = out[y:y + h, x:x + w]
            self.backend.xp.subtract(255, roi, out=roi)
            self._last = out
        self.recorder.stage(self.STAGE, frames.item_id(meta), frames.deadline_of(meta), started,
                            degraded=bool(meta[frames.DEGRADED]))
        op_output.emit(out, "frame")


class NullSinkOp(Operator):
    """Ends the path without output: the frame's end-to-end outcome is recorded here."""

    def __init__(self, fragment: Any, *args: Any, recorder: OutcomeRecorder, control: RunControl,
                 **kwargs: Any) -> None:
        self.recorder = recorder
        self.control = control
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")

    def deliver(self, frame: Any) -> None:
        """Hand the frame to its destination; the null sink has none."""

    @guarded
    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        frame = op_input.receive("frame")
        self.deliver(frame)
        meta = self.metadata
        self.recorder.finish(frames.item_id(meta), frames.deadline_of(meta),
                             degraded=bool(meta[frames.DEGRADED]), pts=round(float(meta[frames.PTS]), 6))


class FileSinkOp(NullSinkOp):
    """Encodes frames into a file with PyAV (libx264 ``ultrafast``/``zerolatency`` for h264 by default)."""

    _ENCODERS = {"h264": "libx264", "hevc": "libx265"}

    def __init__(self, fragment: Any, *args: Any, path: Path, fps: float, codec: str = "h264",
                 preset: str = "ultrafast", backend: Backend, **kwargs: Any) -> None:
        self.path = Path(path)
        self.fps = fps
        self.codec = codec
        self.preset = preset
        self.backend = backend
        self._container: Any = None
        self._stream: Any = None
        super().__init__(fragment, *args, **kwargs)

    def _open(self, height: int, width: int) -> None:
        import av  # noqa: PLC0415

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self.path), mode="w")
        self._rate = Fraction(self.fps).limit_denominator(1001)
        self._stream = self._container.add_stream(self._ENCODERS[self.codec], rate=self._rate)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"preset": self.preset, "tune": "zerolatency"}

    def deliver(self, frame: Any) -> None:
        import av  # noqa: PLC0415

        host = self.backend.to_host(frame)
        if self._container is None:
            self._open(*host.shape[:2])
        video_frame = av.VideoFrame.from_ndarray(host, format="rgb24")
        video_frame.pts = int(self.metadata[frames.INDEX])
        video_frame.time_base = 1 / self._rate
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def stop(self) -> None:
        if self._container is not None:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
            self._container = None
