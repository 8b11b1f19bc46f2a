"""Scene context for ad selection: a small in-process classifier over thumbnails sampled every few seconds.

The classifier is a nearest-prototype model over a coarse colour histogram: each scene label has a palette
(grass and lines for ``pitch``, ...) from which a reference histogram is built once; a thumbnail gets the
label whose reference overlaps its histogram most. It needs no training data or weights, costs tens of
microseconds on a 64-pixel-wide thumbnail, and gives the same label for the same pixels on every machine.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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


@dataclass
class ContextCounts:
    """How often each label was seen; written to the run directory with the app's other counters."""

    samples: int = 0
    labels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    last: str | None = None


