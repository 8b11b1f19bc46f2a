"""Deterministic synthetic test pictures, for the synthetic video source and for tests."""
from __future__ import annotations

import numpy as np


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

