"""Region-only alpha compositing of premultiplied sprites into YUV frames, one implementation for numpy and cupy.

Both graphics paths blend through here: ad creatives (prepared once per slot, :func:`prepare`) and the
sports overlay's scorebug, markers and banners (:meth:`Sprite.from_rgba`, see :mod:`mediagrid.overlay.layers`).
A sprite is converted into the stream's YUV (its matrix and range, :class:`~mediagrid.media.yuv.Colour`) and
premultiplied once, when it is made, and moved to the device; per frame only its rectangle of each plane is
touched, in place, with integer arithmetic into a reused buffer, so the same frame and sprite always give the
same bytes on every backend and machine. Per plane::

    out = (bg * (256 - A) + P + 128) >> 8      with A = a + (a >> 7) in 0..256 and P ~ value * A

Luma is blended at full resolution with the sprite's own alpha. Chroma is blended at chroma resolution with
the 2x2 means of alpha and of premultiplied chroma: since the background's chroma is one value per 2x2 block,
that is exactly the mean of a full-resolution blend, i.e. what an RGB composite followed by 4:2:0 subsampling
gives (the test compares the two). Which pixels share a chroma sample depends on whether the sprite starts on
an even or odd row and column, so a sprite holds its chroma for each such parity it may be drawn at.

Alpha on a 0..256 scale turns the division by 255 into a shift: four element-wise uint16 passes over the
region (multiply, add, shift, store) instead of seven for an exactly rounded ``/ 255``. Fully opaque and fully
transparent pixels come out exact (sprite, respectively background); in between the result is within one
level of the ``/ 255`` blend. ``P`` is at most ``255 * A``, so the sum never exceeds 255 * 256 + 128 and fits
uint16.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mediagrid.media.yuv import Colour, Layout, chroma, empty, frame_size, rgb_to_yuv
from mediagrid.runtime.device import Backend

Rect = tuple[int, int, int, int]  # x, y, width, height in pixels, from the top left
Parity = tuple[int, int]  # (x % 2, y % 2) of where a sprite's top-left pixel lands
ALL_PARITIES: tuple[Parity, ...] = ((0, 0), (1, 0), (0, 1), (1, 1))


@dataclass(frozen=True)
class Canvas:
    """What graphics are prepared for: the stream's colours and height (an untagged stream's matrix depends
    on it), the frame layout and the device."""

    colour: Colour
    height: int
    layout: Layout
    backend: Backend


class Scratch:
    """One growing uint16 work buffer per compositor, so blending allocates nothing per frame."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self._flat = xp.empty(0, dtype=xp.uint16)

    def take(self, shape: tuple[int, ...]) -> Any:
        size = int(np.prod(shape))
        if self._flat.size < size:
            self._flat = self.xp.empty(size, dtype=self.xp.uint16)
        return self._flat[:size].reshape(shape)


@dataclass(frozen=True, slots=True, eq=False)
class Patch:
    """One plane of a sprite: ``premult`` holds ``P + 128`` and ``transparency`` ``256 - A``, uint16 (h, w)."""

    premult: Any
    transparency: Any


@dataclass(frozen=True, slots=True, eq=False)
class Sprite:
    """A premultiplied graphic in a stream's YUV, on the backend's device.

    ``chroma`` maps each parity the sprite can be drawn at to its chroma patch, laid out like the frame's
    chroma (:func:`~mediagrid.media.yuv.chroma`): U and V stacked (2, h, w) for i420, pairs interleaved for nv12. ``dx, dy`` is where a cropped sprite sat in the canvas it
    was painted on.
    """

    luma: Patch
    chroma: Mapping[Parity, Patch]
    layout: Layout
    dx: int = 0
    dy: int = 0

    @property
    def height(self) -> int:
        return int(self.luma.premult.shape[0])

    @property
    def width(self) -> int:
        return int(self.luma.premult.shape[1])

    @classmethod
    def from_rgba(cls, rgba: np.ndarray, canvas: Canvas, *, crop: bool = True,
                  parities: Iterable[Parity] = ALL_PARITIES) -> Sprite | None:
        """From a straight-alpha RGBA uint8 host array (cropped to its visible pixels unless ``crop`` is
        False); None when nothing in it is visible."""
        alpha = rgba[..., 3]
        x0 = y0 = 0
        if crop:
            rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
            if rows.size == 0:
                return None
            y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            rgba = rgba[y0:y1, x0:x1]
        scaled = rgba[..., 3].astype(np.int64)
        scaled += scaled >> 7  # A: 0..255 -> 0..256, exact at both ends
        yuv = np.clip(np.rint(rgb_to_yuv(rgba[..., :3], canvas.colour, canvas.height)), 0, 255).astype(np.int64)
        to_device = canvas.backend.asarray
        luma = _patch(yuv[..., 0] * scaled, scaled, to_device)
        chroma = {parity: _chroma(yuv[..., 1] * scaled, yuv[..., 2] * scaled, scaled, parity, canvas.layout,
                                  to_device) for parity in parities}
        return cls(luma, chroma, canvas.layout, int(x0), int(y0))


def _patch(premult: np.ndarray, scaled: np.ndarray, to_device: Any) -> Patch:
    return Patch(to_device((np.minimum(premult, 255 * scaled) + 128).astype(np.uint16)),
                 to_device((256 - scaled).astype(np.uint16)))


def _chroma(u_premult: np.ndarray, v_premult: np.ndarray, scaled: np.ndarray, parity: Parity, layout: Layout,
            to_device: Any) -> Patch:
    """The chroma patch for a sprite whose top-left pixel lands on ``parity``: 2x2 means over the blocks the
    frame's chroma samples cover (the sprite padded with transparent pixels to whole blocks)."""
    px, py = parity
    h, w = scaled.shape
    ch, cw = (py + h + 1) // 2, (px + w + 1) // 2
    padded = np.zeros((3, 2 * ch, 2 * cw), dtype=np.int32)  # alpha, U * alpha, V * alpha
    padded[0, py:py + h, px:px + w] = scaled
    padded[1, py:py + h, px:px + w] = u_premult
    padded[2, py:py + h, px:px + w] = v_premult
    sums = padded[:, 0::2, 0::2] + padded[:, 1::2, 0::2] + padded[:, 0::2, 1::2] + padded[:, 1::2, 1::2]
    a, uv = (sums[0] + 2) // 4, (sums[1:] + 2) // 4
    if layout == "nv12":
        return _patch(np.moveaxis(uv, 0, -1).reshape(ch, 2 * cw), np.repeat(a, 2, axis=1), to_device)
    return _patch(uv, np.broadcast_to(a, uv.shape), to_device)


def _blend(plane: Any, patch: Patch, x: int, y: int, w: int, h: int, scratch: Scratch) -> int:
    """Blend the top-left ``w`` x ``h`` of ``patch`` into ``plane`` at (x, y), clipped, over any leading axis
    (i420's stacked U and V); returns the pixels blended per plane."""
    ph, pw = plane.shape[-2:]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, pw), min(y + h, ph)
    if x1 <= x0 or y1 <= y0:
        return 0
    xp = scratch.xp
    h, w = y1 - y0, x1 - x0
    sx, sy = x0 - x, y0 - y
    roi = plane[..., y0:y1, x0:x1]
    acc = scratch.take(roi.shape)
    xp.multiply(roi, patch.transparency[..., sy:sy + h, sx:sx + w], out=acc)
    xp.add(acc, patch.premult[..., sy:sy + h, sx:sx + w], out=acc)
    xp.right_shift(acc, 8, out=acc)
    roi[...] = acc  # every value is <= 255 by construction
    return h * w


def paint(frame: Any, sprite: Sprite, x: int, y: int, scratch: Scratch, width: int | None = None) -> int:
    """Blend the first ``width`` columns (all by default) of ``sprite`` into ``frame`` (a 4:2:0 frame of the
    sprite's layout, same device) at (x, y), clipped to the frame, in place; returns the luma pixels blended."""
    luma = frame[:frame_size(frame)[1]]
    shown = sprite.width if width is None else min(width, sprite.width)
    blended = _blend(luma, sprite.luma, x, y, shown, sprite.height, scratch)
    if blended:
        px, py = x & 1, y & 1
        cx, cy = x >> 1, y >> 1  # floor, also left of and above the frame
        cw, ch = (px + shown + 1) >> 1, (py + sprite.height + 1) >> 1
        if sprite.layout == "nv12":  # U, V pairs: two bytes per chroma sample
            cx, cw = 2 * cx, 2 * cw
        _blend(chroma(frame, sprite.layout), sprite.chroma[(px, py)], cx, cy, cw, ch, scratch)
    return blended


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


def prepare(rgba: np.ndarray, slot: Rect, canvas: Canvas) -> PlacedCreative:
    """Scale the straight-alpha RGBA image ``rgba`` (uint8 HxWx4, host) to fit ``slot`` and make it a sprite
    for that position.

    Scaling happens on premultiplied values (area averaging), which keeps edges free of dark or light
    fringes; the scaled colour is then straightened again for :meth:`Sprite.from_rgba`.
    """
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"an overlay must be uint8 HxWx4 RGBA, got {rgba.dtype} {rgba.shape}")
    x, y, w, h = fit_rect(slot, rgba.shape[1], rgba.shape[0])
    if (w, h) != (rgba.shape[1], rgba.shape[0]):
        import cv2  # noqa: PLC0415 - only overlays that need scaling pay for OpenCV

        alpha = rgba[..., 3:4].astype(np.float32)
        premult = cv2.resize(rgba[..., :3].astype(np.float32) * alpha, (w, h), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)[..., None]
        rgb = np.where(alpha > 0, premult / np.maximum(alpha, 1e-6), 0.0)
        rgba = np.concatenate([np.clip(np.rint(rgb), 0, 255), np.clip(np.rint(alpha), 0, 255)],
                              axis=-1).astype(np.uint8)
    sprite = Sprite.from_rgba(rgba, canvas, crop=False, parities=[(x & 1, y & 1)])
    scratch = Scratch(canvas.backend.xp)
    scratch.take((h, w))  # sized now, not on the first frame
    return PlacedCreative(sprite, x, y, scratch)


def fits(frame: Any, overlay: PlacedCreative) -> bool:
    """Whether ``overlay``'s rectangle lies inside ``frame`` (a stream can change resolution)."""
    x, y, w, h = overlay.rect
    width, height = frame_size(frame)
    return x + w <= width and y + h <= height


def blend(frame: Any, overlay: PlacedCreative) -> None:
    """Composite the prepared creative into ``frame`` in place, touching only its rectangle."""
    paint(frame, overlay.sprite, overlay.x, overlay.y, overlay.scratch)


def warm_up(canvas: Canvas) -> None:
    """Blend once on a scratch frame: on a GPU the first blend compiles its kernels (hundreds of
    milliseconds), which must happen before the first frame, not on its time."""
    frame = empty(2, 2, canvas.backend.xp)
    blend(frame, prepare(np.zeros((2, 2, 4), dtype=np.uint8), (0, 0, 2, 2), canvas))
