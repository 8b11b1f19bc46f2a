"""Frames as the codecs have them: 8-bit 4:2:0 YUV in one buffer, from the decoder to the encoder.

Nothing on the frame path needs RGB, so frames never become RGB: a decoder's planes are copied into a
frame buffer, graphics are blended into the planes, and the encoder takes the planes as they are. A frame is
one uint8 array of shape ``(height * 3 // 2, width)`` (what PyAV's ``to_ndarray()`` gives for ``yuv420p``):

- ``i420`` (the CPU): the Y plane, then U and V, each ``height/2 x width/2``, stored one after the other;
- ``nv12`` (a GPU: what NVDEC gives and NVENC takes): the Y plane, then one ``height/2 x width`` plane of
  interleaved U, V pairs.

RGB is made only where something really needs it (a snapshot PNG, the scene classifier's thumbnail), off the
frame path, by :func:`to_rgb`. :class:`Colour` is what a stream declares about its colours (FFmpeg's enum
values, copied to the output as they came) and the matrix that converts graphics into the stream's YUV.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Layout = Literal["i420", "nv12"]

# FFmpeg's AVColorSpace / AVColorRange / AVColorPrimaries / AVColorTransferCharacteristic values
SPACE_BT709, SPACE_FCC, SPACE_BT470BG, SPACE_SMPTE170M, SPACE_SMPTE240M, SPACE_BT2020 = 1, 4, 5, 6, 7, 9
RANGE_TV, RANGE_PC = 1, 2
_KR_KB = {SPACE_BT709: (0.2126, 0.0722), SPACE_FCC: (0.30, 0.11), SPACE_BT470BG: (0.299, 0.114),
          SPACE_SMPTE170M: (0.299, 0.114), SPACE_SMPTE240M: (0.212, 0.087), SPACE_BT2020: (0.2627, 0.0593)}
HD_HEIGHT = 720  # an untagged stream this tall is taken as BT.709, a smaller one as BT.601 (players do the same)


@dataclass(frozen=True)
class Colour:
    """A stream's colour description, in FFmpeg's enum values (what ffprobe reports by name)."""

    space: int = SPACE_BT709
    range: int = RANGE_TV
    primaries: int = 1  # BT.709
    transfer: int = 1  # BT.709

    @classmethod
    def of(cls, av_object: Any) -> Colour:
        """From a PyAV video frame or codec context."""
        return cls(int(av_object.colorspace), int(av_object.color_range), int(av_object.color_primaries),
                   int(av_object.color_trc))

    def coefficients(self, height: int) -> tuple[float, float]:
        """(Kr, Kb) of the matrix the stream's YUV was made with; an untagged stream gets the usual guess."""
        if self.space in _KR_KB:
            return _KR_KB[self.space]
        return _KR_KB[SPACE_BT709 if height >= HD_HEIGHT else SPACE_BT470BG]

    @property
    def full_range(self) -> bool:
        return self.range == RANGE_PC


def frame_size(frame: Any) -> tuple[int, int]:
    """(width, height) of a 4:2:0 frame buffer."""
    return int(frame.shape[1]), int(frame.shape[0]) * 2 // 3


def check_size(width: int, height: int, where: str) -> None:
    """4:2:0 needs even sizes; say so where the size comes from, not deep inside a kernel."""
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise ValueError(f"{where}: a {width}x{height} picture cannot be carried as 4:2:0 YUV (sizes must be even)")


def empty(width: int, height: int, xp: Any = np) -> Any:
    return xp.empty((height * 3 // 2, width), dtype=xp.uint8)


def planes(frame: Any, layout: Layout) -> tuple[Any, ...]:
    """Views of the frame's planes: (Y, U, V) for i420, (Y, UV) for nv12; writing to a view writes the frame."""
    width, height = frame_size(frame)
    y = frame[:height]
    if layout == "nv12":
        return y, frame[height:]
    flat, luma, chroma = frame.reshape(-1), width * height, width * height // 4  # U may end mid-row
    return (y, flat[luma:luma + chroma].reshape(height // 2, width // 2),
            flat[luma + chroma:].reshape(height // 2, width // 2))


def chroma(frame: Any, layout: Layout) -> Any:
    """The frame's chroma as one view: (2, h/2, w/2) for i420 (U and V lie one after the other), (h/2, w) of
    interleaved pairs for nv12. One view lets a kernel treat both chroma planes in one pass."""
    width, height = frame_size(frame)
    if layout == "nv12":
        return frame[height:]
    return frame.reshape(-1)[width * height:].reshape(2, height // 2, width // 2)


def i420_to_nv12(frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    y, u, v = planes(frame, "i420")
    out = np.empty_like(frame) if out is None else out
    _, uv = planes(out, "nv12")
    out[:y.shape[0]] = y
    uv[:, 0::2], uv[:, 1::2] = u, v
    return out


def _to_yuv_rows(colour: Colour, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The RGB (0..255) -> Y, U, V matrix rows and offsets of ``colour`` for a stream ``height`` pixels tall."""
    kr, kb = colour.coefficients(height)
    kg = 1.0 - kr - kb
    luma_scale, chroma_scale, offset = (255.0, 255.0, 0.0) if colour.full_range else (219.0, 224.0, 16.0)
    rows = np.array([[kr, kg, kb],
                     [-kr / (2 - 2 * kb), -kg / (2 - 2 * kb), 0.5],
                     [0.5, -kg / (2 - 2 * kr), -kb / (2 - 2 * kr)]])
    rows *= np.array([[luma_scale], [chroma_scale], [chroma_scale]]) / 255.0
    return rows, np.array([offset, 128.0, 128.0])


def rgb_to_yuv(rgb: np.ndarray, colour: Colour, height: int, channels: tuple[int, ...] = (0, 1, 2)) -> np.ndarray:
    """Y, U, V (float32, shape (h, w, len(channels)), unrounded) of an RGB picture (uint8 or float), in the
    matrix and range that ``colour`` declares for a stream ``height`` pixels tall; ``channels`` picks which."""
    rows, offsets = _to_yuv_rows(colour, height)
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    out = np.empty(rgb.shape[:2] + (len(channels),), dtype=np.float32)
    for k, i in enumerate(channels):
        out[..., k] = r * np.float32(rows[i, 0]) + g * np.float32(rows[i, 1]) + b * np.float32(rows[i, 2])
        out[..., k] += np.float32(offsets[i])
    return out


def yuv_to_rgb(yuv: np.ndarray, colour: Colour, height: int) -> np.ndarray:
    """The inverse of :func:`rgb_to_yuv`, rounded and clipped to uint8 RGB."""
    kr, kb = colour.coefficients(height)
    yuv = yuv.astype(np.float64)
    if colour.full_range:
        ey, ecb, ecr = yuv[..., 0] / 255.0, (yuv[..., 1] - 128.0) / 255.0, (yuv[..., 2] - 128.0) / 255.0
    else:
        ey, ecb, ecr = (yuv[..., 0] - 16.0) / 219.0, (yuv[..., 1] - 128.0) / 224.0, (yuv[..., 2] - 128.0) / 224.0
    er = ey + 2.0 * (1.0 - kr) * ecr
    eb = ey + 2.0 * (1.0 - kb) * ecb
    eg = (ey - kr * er - kb * eb) / (1.0 - kr - kb)
    return np.clip(np.rint(np.stack([er, eg, eb], axis=-1) * 255.0), 0, 255).astype(np.uint8)


def from_rgb(rgb: np.ndarray, colour: Colour, layout: Layout = "i420") -> np.ndarray:
    """A host frame of ``layout`` from an RGB picture (even size): for test pictures and synthetic sources,
    made once, never per frame. A chroma sample is that of the mean colour of its 2x2 block (the matrix is
    linear, so that is the mean of the four pixels' chroma)."""
    height, width = rgb.shape[:2]
    check_size(width, height, "from_rgb")
    out = empty(width, height)
    y, u, v = planes(out, "i420")
    y[...] = np.clip(np.rint(rgb_to_yuv(rgb, colour, height, (0,))[..., 0]), 0, 255)
    quads = (rgb[dy::2, dx::2].astype(np.float32) for dy in (0, 1) for dx in (0, 1))
    mean = sum(quads) / np.float32(4)
    chroma = rgb_to_yuv(mean, colour, height, (1, 2))
    u[...], v[...] = (np.clip(np.rint(chroma[..., i]), 0, 255) for i in (0, 1))
    return out if layout == "i420" else i420_to_nv12(out)


def to_rgb(frame: Any, colour: Colour, layout: Layout, step: int = 1) -> np.ndarray:
    """RGB (uint8, host) of a frame, every ``step``-th pixel (an even step, or 1): for snapshots and thumbnails,
    off the frame path. Only the pixels it reads are copied off the device."""
    width, height = frame_size(frame)
    if step > 1 and step % 2:
        step += 1
    parts = planes(frame, layout)
    y = _host(parts[0][::step, ::step])
    cstep = max(step // 2, 1)
    if layout == "nv12":
        uv = _host(parts[1].reshape(height // 2, width // 2, 2)[::cstep, ::cstep])
        u, v = uv[..., 0], uv[..., 1]
    else:
        u, v = _host(parts[1][::cstep, ::cstep]), _host(parts[2][::cstep, ::cstep])
    if step == 1:  # chroma back to full resolution (nearest)
        u, v = (np.repeat(np.repeat(c, 2, axis=0), 2, axis=1) for c in (u, v))
    u, v = u[:y.shape[0], :y.shape[1]], v[:y.shape[0], :y.shape[1]]
    return yuv_to_rgb(np.stack([y, u, v], axis=-1), colour, height)


def _host(array: Any) -> np.ndarray:
    return array.get() if hasattr(array, "get") else np.asarray(array)
