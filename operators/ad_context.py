"""Scene context on the frame path: a thumbnail every few seconds, classified off the path, and the latest
label handed to the compositor without ever making a frame wait.

``ThumbnailTapOp`` sits on the frame path and, when a sample is due, emits a small host copy of the frame
*before* anything is drawn on it; ``ContextSamplerOp`` classifies it (:class:`~mediagrid.ads.scene.SceneClassifier`)
and emits a :class:`~mediagrid.ads.scene.Scene`, which reaches the compositor through an ``ASYNC_BUFFER``
connection (latest value, never a queue that could hold frames back).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mediagrid.ads.scene import ContextCounts, SceneClassifier, Thumbnail
from mediagrid.media import frames
from mediagrid.media.compositor import Canvas
from mediagrid.media.yuv import empty, to_rgb
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.control import RunControl
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.core import ConditionType, IOSpec, OperatorSpec  # noqa: E402


class ThumbnailTapOp(MediagridOp):
    """Passes frames on unchanged; every ``every_s`` seconds of presentation time it also emits a strided
    host thumbnail (about ``width`` pixels wide) on ``thumb``. That port never blocks the frame path: it has
    no back-pressure condition, and the sampler's queue drops its oldest thumbnail when full."""

    def __init__(self, fragment: Any, *args: Any, every_s: float, width: int, canvas: Canvas,
                 control: RunControl, **kwargs: Any) -> None:
        self.every_s = every_s
        self.width = width
        self.canvas = canvas
        self._next_pts_s = 0.0
        super().__init__(fragment, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")
        spec.output("frame")
        spec.output("thumb").condition(ConditionType.NONE)

    def start(self) -> None:
        self._thumbnail(empty(4, 4, self.canvas.backend.xp))  # GPU kernels compile now

    def _thumbnail(self, frame: Any) -> np.ndarray:
        """RGB from a strided read of the planes: only the thumbnail's pixels are converted or copied."""
        return to_rgb(frame, self.canvas.colour, self.canvas.layout, step=max(1, frame.shape[1] // self.width))

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        frame = op_input.receive("frame")
        pts_s = float(self.metadata[frames.PTS])
        if pts_s >= self._next_pts_s:
            self._next_pts_s = pts_s + self.every_s
            op_output.emit(Thumbnail(pts_s, self._thumbnail(frame)), "thumb")
        op_output.emit(frame, "frame")


class ContextSamplerOp(MediagridOp):
    """Classifies thumbnails and emits the :class:`Scene` on ``scene`` (connect it as ``ASYNC_BUFFER``)."""

    def __init__(self, fragment: Any, *args: Any, control: RunControl, **kwargs: Any) -> None:
        self.classifier = SceneClassifier()
        self.counts = ContextCounts()
        super().__init__(fragment, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("thumb", policy=IOSpec.QueuePolicy.POP)
        spec.output("scene")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        thumb: Thumbnail = op_input.receive("thumb")
        self.metadata.clear()  # a scene is not a frame: its message must not carry the sampled frame's ids
        scene = self.classifier.classify(thumb.pixels, thumb.pts_s)
        self.counts.samples += 1
        self.counts.labels[scene.label] += 1
        self.counts.last = scene.label
        op_output.emit(scene, "scene")
