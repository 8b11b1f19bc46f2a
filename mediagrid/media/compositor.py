"""Region-only alpha compositing of premultiplied sprites, one implementation for numpy and cupy.

Both graphics paths blend through here: ad creatives (prepared once per slot, :func:`prepare`) and the
sports overlay's scorebug, markers and banners (:meth:`Sprite.from_rgba`, see
:mod:`mediagrid.overlay.layers`). A sprite is premultiplied once and moved to the device; per
frame only its rectangle is touched, in place, with integer arithmetic into a reused buffer, so the same
frame and sprite always give the same bytes on every backend and machine::

    out = (bg * (256 - A) + P + 128) >> 8      with A = a + (a >> 7) in 0..256 and P ~ rgb * A

Alpha on a 0..256 scale turns the division by 255 into a shift: four element-wise uint16 passes over the
region (multiply, add, shift, store) instead of seven for an exactly rounded ``/ 255``, about 1.6x faster
for a full-width 1080p lower third (perf/results/ad_insertion.md times this blend alone). Fully opaque and
fully transparent pixels come out exact (sprite, respectively background); in between the result is within
one level of the ``/ 255`` blend. ``P`` is at most ``255 * A``, so the sum never exceeds 255 * 256 + 128 and
fits uint16.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mediagrid.runtime.device import Backend

Rect = tuple[int, int, int, int]  # x, y, width, height in pixels, from the top left


class Scratch:
    """One growing uint16 work buffer per compositor, so blending allocates nothing per frame."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self._flat = xp.empty(0, dtype=xp.uint16)

    def take(self, h: int, w: int) -> Any:
        size = h * w * 3
        if self._flat.size < size:
            self._flat = self.xp.empty(size, dtype=self.xp.uint16)
        return self._flat[:size].reshape(h, w, 3)


@dataclass(frozen=True, slots=True, eq=False)
class Sprite:
    """A premultiplied patch on the backend's device.

    ``premult`` holds ``P + 128`` and ``transparency`` holds ``256 - A``, both uint16 (h, w, 3): alpha is
    repeated per channel, because a broadcast (h, w, 1) operand makes numpy's multiply 10x slower.
    ``dx, dy`` is where a cropped sprite sat in the canvas it was painted on.
    """

    premult: Any
    transparency: Any
    dx: int = 0
    dy: int = 0

    @property
    def height(self) -> int:
        return int(self.premult.shape[0])

    @property
    def width(self) -> int:
        return int(self.premult.shape[1])

    @classmethod
    def from_rgba(cls, rgba: np.ndarray, to_device: Callable[[np.ndarray], Any]) -> Sprite | None:
        """From a straight-alpha RGBA uint8 host array, cropped to its visible pixels; None when nothing in it
        is visible. Unscaled, so ``P = rgb * A`` exactly: uint16 passes only, about 0.2 ms for a banner."""
        alpha = rgba[..., 3]
        rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
        if rows.size == 0:
            return None
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        crop = rgba[y0:y1, x0:x1]
        scaled = np.repeat(crop[..., 3:4], 3, axis=2).astype(np.uint16)
        scaled += scaled >> 7  # A: 0..255 -> 0..256, exact at both ends
        premult = crop[..., :3].astype(np.uint16)
        premult *= scaled
        premult += 128
        np.subtract(256, scaled, out=scaled)
        return cls(to_device(premult), to_device(scaled), int(x0), int(y0))


def paint(frame: Any, sprite: Sprite, x: int, y: int, scratch: Scratch, width: int | None = None) -> int:
    """Blend the first ``width`` columns (all by default) of ``sprite`` into ``frame`` (uint8 HxWx3, same
    device) at (x, y), clipped to the frame, in place; returns the number of pixels blended."""
    xp = scratch.xp
    fh, fw = frame.shape[:2]
    shown = sprite.width if width is None else min(width, sprite.width)
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + shown, fw), min(y + sprite.height, fh)
    if x1 <= x0 or y1 <= y0:
        return 0
    h, w = y1 - y0, x1 - x0
    sx, sy = x0 - x, y0 - y
    roi = frame[y0:y1, x0:x1]
    acc = scratch.take(h, w)
    xp.multiply(roi, sprite.transparency[sy:sy + h, sx:sx + w], out=acc)
    xp.add(acc, sprite.premult[sy:sy + h, sx:sx + w], out=acc)
    xp.right_shift(acc, 8, out=acc)
    roi[...] = acc  # every value is <= 255 by construction
    return h * w


@dataclass(frozen=True, eq=False)
class PlacedCreative:
    """An ad creative prepared for its slot: the sprite, where it goes, and a buffer of its size."""

    sprite: Sprite
    x: int
    y: int
    scratch: Scratch

    @property
    def rect(self) -> Rect:
        return self.x, self.y, self.sprite.width, self.sprite.height


def fit_rect(slot: Rect, width: int, height: int) -> Rect:
    """The largest ``width`` x ``height``-shaped rectangle centred in ``slot`` (aspect ratio kept)."""
    sx, sy, sw, sh = slot
    scale = min(sw / width, sh / height)
    w, h = max(1, min(sw, round(width * scale))), max(1, min(sh, round(height * scale)))
    return sx + (sw - w) // 2, sy + (sh - h) // 2, w, h


def prepare(rgba: np.ndarray, slot: Rect, backend: Backend) -> PlacedCreative:
    """Scale the straight-alpha RGBA image ``rgba`` (uint8 HxWx4, host) to fit ``slot`` and premultiply it.

    Scaling happens on premultiplied values (area averaging), which keeps edges free of dark or light
    fringes; the result is clamped so that ``P`` never exceeds ``255 * A``, the bound the blend relies on.
    """
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"an overlay must be uint8 HxWx4 RGBA, got {rgba.dtype} {rgba.shape}")
    x, y, w, h = fit_rect(slot, rgba.shape[1], rgba.shape[0])
    alpha = rgba[..., 3:4].astype(np.uint16)
    premult = rgba[..., :3].astype(np.uint16) * alpha
    if (w, h) != (rgba.shape[1], rgba.shape[0]):
        import cv2  # noqa: PLC0415 - only overlays that need scaling pay for OpenCV

        premult = cv2.resize(premult, (w, h), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)[..., None]
    alpha = alpha.astype(np.int64)
    scaled = alpha + (alpha >> 7)
    # P = rgb * A = (rgb * a) * A / a, rounded to nearest; 0 where a = 0 (unscaled: exactly rgb * A)
    premult = (premult.astype(np.int64) * scaled * 2 + alpha) // np.maximum(2 * alpha, 1)
    premult = np.minimum(premult, 255 * scaled) + 128
    sprite = Sprite(backend.asarray(premult.astype(np.uint16)),
                    backend.asarray(np.broadcast_to(256 - scaled, (h, w, 3)).astype(np.uint16)))
    scratch = Scratch(backend.xp)
    scratch.take(h, w)  # sized now, not on the first frame
    return PlacedCreative(sprite, x, y, scratch)


def fits(frame: Any, overlay: PlacedCreative) -> bool:
    """Whether ``overlay``'s rectangle lies inside ``frame`` (a stream can change resolution)."""
    x, y, w, h = overlay.rect
    return x + w <= frame.shape[1] and y + h <= frame.shape[0]


def blend(frame: Any, overlay: PlacedCreative) -> None:
    """Composite the prepared creative into ``frame`` in place, touching only its rectangle."""
    paint(frame, overlay.sprite, overlay.x, overlay.y, overlay.scratch)


def warm_up(backend: Backend) -> None:
    """Blend once on a scratch patch: on a GPU the first blend compiles its kernels (hundreds of
    milliseconds), which must happen before the first frame, not on its time."""
    blend(backend.xp.zeros((2, 2, 3), dtype=backend.xp.uint8),
          prepare(np.zeros((2, 2, 4), dtype=np.uint8), (0, 0, 2, 2), backend))
