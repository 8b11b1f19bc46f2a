"""Scene context for ad selection: a thumbnail every few seconds, a small in-process classifier, and the
latest label handed to the frame path without ever making it wait.

The classifier is a nearest-prototype model over a coarse colour histogram: each scene label has a palette
(grass and lines for ``pitch``, ...) from which a reference histogram is built once; a thumbnail gets the
label whose reference overlaps its histogram most. It needs no training data or weights, costs tens of
microseconds on a 64-pixel-wide thumbnail, and gives the same label for the same pixels on every machine.

Graph: ``ThumbnailTapOp`` sits on the frame path and, when a sample is due, emits a small host copy of the
frame *before* anything is drawn on it; ``ContextSamplerOp`` classifies it off the path and emits a
:class:`Scene`, which reaches the compositor through an ``ASYNC_BUFFER`` connection (latest value, never a
queue that could hold frames back).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.control import RunControl
from mediagrid.runtime.device import Backend
from mediagrid.operators import frames
from mediagrid.operators.guard import guarded

import_holoscan()
from holoscan.core import ConditionType, IOSpec, Operator, OperatorSpec  # noqa: E402

BINS = 4  # per channel: a 64-bin RGB histogram
#: label -> palette of (RGB colour, share of the picture)
PALETTES: dict[str, tuple[tuple[tuple[int, int, int], float], ...]] = {
    "pitch": (((34, 139, 34), 0.45), ((52, 160, 52), 0.3), ((22, 100, 22), 0.15), ((235, 235, 235), 0.1)),
    "dark": (((12, 12, 18), 0.5), ((40, 40, 52), 0.3), ((75, 62, 60), 0.2)),
    "bright": (((236, 236, 236), 0.35), ((192, 192, 200), 0.3), ((150, 150, 160), 0.2), ((250, 220, 180), 0.15)),
}
LABELS: tuple[str, ...] = tuple(PALETTES)


@dataclass(frozen=True)
class Scene:
    """The classifier's answer for the frame at ``pts_s``: its label and the overlap score of every label."""

    label: str
    pts_s: float
    scores: tuple[tuple[str, float], ...]


def histogram(pixels: np.ndarray) -> np.ndarray:
    """Normalised ``BINS``**3 histogram of uint8 RGB pixels (any shape ending in 3)."""
    q = (pixels.reshape(-1, 3) // (256 // BINS)).astype(np.intp)
    counts = np.bincount((q[:, 0] * BINS + q[:, 1]) * BINS + q[:, 2], minlength=BINS ** 3)
    return counts / max(counts.sum(), 1)


def _prototype(palette: tuple[tuple[tuple[int, int, int], float], ...]) -> np.ndarray:
    """A palette spread over its neighbourhood (each colour +-20 per channel), as a histogram."""
    offsets = np.array(np.meshgrid(*[(-20, 0, 20)] * 3, indexing="ij")).reshape(3, -1).T
    proto = np.zeros(BINS ** 3)
    for colour, share in palette:
        samples = np.clip(np.array(colour) + offsets, 0, 255).astype(np.uint8)
        proto += share * histogram(samples)
    return proto / proto.sum()


class SceneClassifier:
    """Nearest-prototype scene labels from colour histograms (see the module docstring)."""

    def __init__(self) -> None:
        self.prototypes = {label: _prototype(palette) for label, palette in PALETTES.items()}

    def classify(self, thumbnail: np.ndarray, pts_s: float = 0.0) -> Scene:
        hist = histogram(thumbnail)
        scores = tuple((label, round(float(np.minimum(hist, proto).sum()), 6))
                       for label, proto in self.prototypes.items())
        best = max(scores, key=lambda item: item[1])  # ties: the first label in PALETTES order
        return Scene(best[0], pts_s, scores)


@dataclass(frozen=True)
class Thumbnail:
    pts_s: float
    pixels: np.ndarray  # uint8 hxwx3 RGB on the host


class ThumbnailTapOp(Operator):
    """Passes frames on unchanged; every ``every_s`` seconds of presentation time it also emits a strided
    host thumbnail (about ``width`` pixels wide) on ``thumb``. That port never blocks the frame path: it has
    no back-pressure condition, and the sampler's queue drops its oldest thumbnail when full."""

    def __init__(self, fragment: Any, *args: Any, every_s: float, width: int, backend: Backend,
                 control: RunControl, **kwargs: Any) -> None:
        self.every_s = every_s
        self.width = width
        self.backend = backend
        self.control = control
        self._next_pts_s = 0.0
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")
        spec.output("frame")
        spec.output("thumb").condition(ConditionType.NONE)

    def start(self) -> None:
        self._thumbnail(self.backend.xp.zeros((4, 4, 3), dtype=self.backend.xp.uint8))  # GPU kernels compile now

    def _thumbnail(self, frame: Any) -> np.ndarray:
        step = max(1, frame.shape[1] // self.width)
        return np.array(self.backend.to_host(self.backend.xp.ascontiguousarray(frame[::step, ::step])))

    @guarded
    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        frame = op_input.receive("frame")
        pts_s = float(self.metadata[frames.PTS])
        if pts_s >= self._next_pts_s:
            self._next_pts_s = pts_s + self.every_s
            op_output.emit(Thumbnail(pts_s, self._thumbnail(frame)), "thumb")
        op_output.emit(frame, "frame")


@dataclass
class ContextCounts:
    """How often each label was seen; written to the run directory with the app's other counters."""

    samples: int = 0
    labels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    last: str | None = None


class ContextSamplerOp(Operator):
    """Classifies thumbnails and emits the :class:`Scene` on ``scene`` (connect it as ``ASYNC_BUFFER``)."""

    def __init__(self, fragment: Any, *args: Any, control: RunControl, **kwargs: Any) -> None:
        self.control = control
        self.classifier = SceneClassifier()
        self.counts = ContextCounts()
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("thumb", policy=IOSpec.QueuePolicy.POP)
        spec.output("scene")

    @guarded
    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        thumb: Thumbnail = op_input.receive("thumb")
        self.metadata.clear()  # a scene is not a frame: its message must not carry the sampled frame's ids
        scene = self.classifier.classify(thumb.pixels, thumb.pts_s)
        self.counts.samples += 1
        self.counts.labels[scene.label] += 1
        self.counts.last = scene.label
        op_output.emit(scene, "scene")
