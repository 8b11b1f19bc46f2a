"""The overlay as the frame path sees it, and the blend that puts it on a frame (numpy or cupy, same code).

A :class:`Layer` is not a full-frame RGBA image: it is a list of small premultiplied :class:`Sprite` s
and where they go. Only those rectangles are ever touched, so a 1080p frame with a scorebug, 22 player
markers and a banner costs a few hundred thousand pixel blends instead of two million, and a sprite that
did not change (a player's marker, the scorebug between goals) is uploaded to the device once and only
moves. Layers and sprites are immutable once built: the frame path may read one while the renderer
builds the next.

The blend is exact integer arithmetic (``round(x / 255)`` by shifts), so numpy and cupy give the same
bytes and a golden image does not depend on the device.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


def div255(x: Any) -> Any:
    """``round(x / 255)`` (halves up) for integer arrays with 0 <= x <= 65025, in place when x is uint16."""
    x += 128
    x += x >> 8
    x >>= 8
    return x


@dataclass(frozen=True, slots=True, eq=False)
class Sprite:
    """A premultiplied RGBA patch, cropped to its non-transparent pixels.

    ``premul`` is (h, w, 3) colour times alpha and ``inv_alpha`` (h, w, 3) ``255 - alpha``, both uint16 on
    the backend's device (alpha is repeated per channel: a broadcast (h, w, 1) operand makes numpy's
    multiply 10x slower); ``dx, dy`` is where the crop sat in the canvas it was painted on.
    """

    premul: Any
    inv_alpha: Any
    dx: int
    dy: int

    @property
    def height(self) -> int:
        return int(self.premul.shape[0])

    @property
    def width(self) -> int:
        return int(self.premul.shape[1])

    @classmethod
    def from_rgba(cls, rgba: np.ndarray, to_device: Callable[[np.ndarray], Any]) -> Sprite | None:
        """From a straight-alpha RGBA uint8 host array; None when nothing in it is visible."""
        alpha = rgba[..., 3]
        rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
        if rows.size == 0:
            return None
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        crop = rgba[y0:y1, x0:x1]
        alpha = np.repeat(crop[..., 3:4], 3, axis=2).astype(np.uint16)  # no broadcasting: see inv_alpha
        premul = crop[..., :3].astype(np.uint16)
        premul *= alpha
        np.subtract(255, alpha, out=alpha)
        return cls(to_device(div255(premul)), to_device(alpha), int(x0), int(y0))


@dataclass(frozen=True, slots=True)
class Placement:
    """A sprite at (x, y), the frame pixel of its top-left corner.

    ``essential`` ones (score, clock, banners) are drawn even on degraded frames. A timed placement is
    revealed left to right over ``wipe_ns`` from ``shown_ns`` and hidden the same way until ``hidden_ns``;
    the wipe only narrows the blended rectangle, so animation costs nothing extra.
    """

    sprite: Sprite
    x: int
    y: int
    essential: bool = False
    shown_ns: int | None = None
    hidden_ns: int | None = None
    wipe_ns: int = 0

    def visible_width(self, at_ns: int) -> int:
        width = self.sprite.width
        if self.shown_ns is None or self.hidden_ns is None:
            return width
        if not self.shown_ns <= at_ns < self.hidden_ns:
            return 0
        if self.wipe_ns <= 0:
            return width
        opening = (at_ns - self.shown_ns) / self.wipe_ns
        closing = (self.hidden_ns - at_ns) / self.wipe_ns
        return int(width * min(opening, closing, 1.0))


@dataclass(frozen=True, slots=True)
class Layer:
    """Everything the overlay draws on frames from now on; ``version`` grows with each new layer.

    ``banner`` names the event (goal, card, substitution) whose banner is the last placement, if any.
    """

    version: int
    placements: tuple[Placement, ...]
    banner: str | None = None

    def banner_open(self, at_ns: int) -> bool:
        """Whether the banner is fully revealed at ``at_ns`` (for event snapshots)."""
        if self.banner is None:
            return False
        last = self.placements[-1]
        return last.visible_width(at_ns) == last.sprite.width


class Scratch:
    """One growing uint16 work buffer per compositor, so blending allocates nothing per frame."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self._flat = xp.empty(0, dtype=xp.uint16)

    def take(self, h: int, w: int) -> tuple[Any, Any]:
        size = h * w * 3
        if self._flat.size < 2 * size:
            self._flat = self.xp.empty(2 * size, dtype=self.xp.uint16)
        return self._flat[:size].reshape(h, w, 3), self._flat[size:2 * size].reshape(h, w, 3)


def blend(frame: Any, sprite: Sprite, x: int, y: int, width: int, scratch: Scratch) -> int:
    """Premultiplied "over" of the first ``width`` columns of ``sprite`` at (x, y), clipped to the frame,
    in place; returns the number of pixels blended."""
    xp = scratch.xp
    fh, fw = frame.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + min(width, sprite.width), fw), min(y + sprite.height, fh)
    if x1 <= x0 or y1 <= y0:
        return 0
    h, w = y1 - y0, x1 - x0
    sx, sy = x0 - x, y0 - y
    roi = frame[y0:y1, x0:x1]
    acc, shifted = scratch.take(h, w)
    xp.copyto(acc, roi)
    acc *= sprite.inv_alpha[sy:sy + h, sx:sx + w]
    acc += 128  # div255, with a second buffer for the shifted copy
    xp.right_shift(acc, 8, out=shifted)
    acc += shifted
    acc >>= 8
    acc += sprite.premul[sy:sy + h, sx:sx + w]
    xp.copyto(roi, acc, casting="unsafe")  # every value is <= 255 by construction
    return h * w


def composite(frame: Any, layer: Layer, at_ns: int, scratch: Scratch, *, essential_only: bool = False) -> int:
    """Blend every placement of ``layer`` that is visible at ``at_ns`` onto ``frame`` in order; returns the
    number of pixels blended."""
    blended = 0
    for p in layer.placements:
        if essential_only and not p.essential:
            continue
        width = p.visible_width(at_ns)
        if width > 0:
            blended += blend(frame, p.sprite, p.x, p.y, width, scratch)
    return blended
