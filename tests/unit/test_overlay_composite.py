"""The shared compositor in YUV: integer "over" per plane, chroma at chroma resolution for any offset, only the
sprites' rectangles, clipping, wipes, the same bytes in both layouts and on numpy and cupy, and agreement with
an RGB composite."""
from __future__ import annotations

import numpy as np
import pytest

from mediagrid.media.compositor import Canvas, Scratch, Sprite, blend, paint, prepare
from mediagrid.media.yuv import Colour, from_rgb, i420_to_nv12, planes, to_rgb
from mediagrid.overlay.layers import Layer, SpritePlacement, composite
from mediagrid.runtime import gpu_available, select_backend

CPU = select_backend("cpu")
W, H = 64, 48
CANVAS = Canvas(Colour(), H, "i420", CPU)


def sprite_from(rgba: np.ndarray, canvas: Canvas = CANVAS) -> Sprite:
    made = Sprite.from_rgba(rgba, canvas)
    assert made is not None
    return made


def random_rgba(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[0, :, 3] = rgba[-1, :, 3] = rgba[:, 0, 3] = rgba[:, -1, 3] = 200  # visible edges: nothing to crop
    return rgba


def smooth_rgb(h: int = H, w: int = W) -> np.ndarray:
    """A picture like a camera's at 2x2 scale (a gentle gradient), so that a 4:2:0 composite can match an RGB
    one: where the background varies inside a chroma block, no 4:2:0 frame can hold the RGB result."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([40 + xx * 2, 60 + yy * 2, 200 - xx - yy], axis=-1).astype(np.uint8)


def frame_of(rgb: np.ndarray, layout: str = "i420") -> np.ndarray:
    return from_rgb(rgb, Colour(), layout)  # type: ignore[arg-type]


@pytest.mark.parametrize(("x", "y"), [(8, 6), (7, 5), (6, 9), (13, 4)])
def test_yuv_composite_matches_an_rgb_composite_within_two_levels_and_nothing_else_changes(x: int, y: int) -> None:
    rgba = random_rgba(21, 31, seed=x * 100 + y)  # odd size, at even and odd offsets
    background = smooth_rgb()
    frame = frame_of(background)
    out = frame.copy()
    assert paint(out, sprite_from(rgba), x, y, Scratch(np)) == 21 * 31
    a = rgba[..., 3:4] / 255
    reference_rgb = background.astype(np.float64)
    reference_rgb[y:y + 21, x:x + 31] = rgba[..., :3] * a + reference_rgb[y:y + 21, x:x + 31] * (1 - a)
    reference = frame_of(np.rint(reference_rgb).astype(np.uint8))
    assert np.abs(out.astype(int) - reference.astype(int)).max() <= 2
    for got, before, rows, cols in zip(planes(out, "i420"), planes(frame, "i420"),
                                       [(y, y + 21)] + [(y // 2, (y + 22) // 2)] * 2,
                                       [(x, x + 31)] + [(x // 2, (x + 32) // 2)] * 2):
        outside = np.ones(got.shape, bool)
        outside[rows[0]:rows[1], cols[0]:cols[1]] = False
        assert np.array_equal(got[outside], before[outside])  # byte-identical outside the creative


def test_alpha_0_leaves_the_frame_and_alpha_255_replaces_it_exactly() -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = (200, 30, 90)
    rgba[:4, :, 3] = 255  # top half opaque, bottom half transparent (but present: no crop)
    rgba[-1, -1, 3] = 1
    frame = frame_of(smooth_rgb())
    out = frame.copy()
    paint(out, sprite_from(rgba), 10, 20, Scratch(np))
    solid = frame_of(np.broadcast_to(np.array((200, 30, 90), np.uint8), (H, W, 3)).copy())
    (y, u, v), (sy, su, sv), (fy, fu, fv) = planes(out, "i420"), planes(solid, "i420"), planes(frame, "i420")
    assert np.array_equal(y[20:24, 10:18], sy[20:24, 10:18])  # opaque: the creative's own values
    assert np.array_equal(u[10:12, 5:9], su[10:12, 5:9]) and np.array_equal(v[10:12, 5:9], sv[10:12, 5:9])
    assert np.array_equal(y[24:27, 10:18], fy[24:27, 10:18])  # transparent: untouched
    assert np.array_equal(u[12:13, 5:9], fu[12:13, 5:9]) and np.array_equal(v[12:13, 5:9], fv[12:13, 5:9])


def test_partial_alpha_is_within_one_level_of_the_exact_blend() -> None:
    alpha = np.arange(256, dtype=np.uint8)
    for grey in (0, 77, 255):
        rgba = np.zeros((2, 256, 4), np.uint8)
        rgba[..., :3], rgba[..., 3] = grey, alpha
        frame = frame_of(np.full((2, 256, 3), 128, np.uint8))
        y_bg, y_fg = float(planes(frame, "i420")[0][0, 0]), 16 + 219 * grey / 255
        paint(frame, Sprite.from_rgba(rgba, Canvas(Colour(), 2, "i420", CPU), crop=False), 0, 0, Scratch(np))
        exact = (y_bg * (255 - alpha) + y_fg * alpha) / 255
        assert np.abs(planes(frame, "i420")[0][0] - exact).max() <= 1.0


def test_sprites_are_cropped_and_clipped_at_every_edge() -> None:
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[2:5, 3:8] = (255, 0, 0, 255)
    sprite = sprite_from(rgba)
    assert (sprite.dx, sprite.dy, sprite.width, sprite.height) == (3, 2, 5, 3)
    assert Sprite.from_rgba(np.zeros((4, 4, 4), np.uint8), CANVAS) is None
    scratch = Scratch(np)
    for x, y, expected in [(-2, 4, 3 * 3), (-3, -1, 2 * 2), (W - 2, H - 1, 2 * 1), (W, 0, 0), (0, -3, 0)]:
        frame = frame_of(smooth_rgb())
        out = frame.copy()
        assert paint(out, sprite, x, y, scratch) == expected
        whole = frame_of(np.zeros((H + 20, W + 20, 3), np.uint8))  # the same sprite on a larger frame, cut out
        big_rgb = np.zeros((H + 20, W + 20, 3), np.uint8)
        big_rgb[10:10 + H, 10:10 + W] = smooth_rgb()
        whole = frame_of(big_rgb)
        paint(whole, sprite, x + 10, y + 10, scratch)
        assert np.array_equal(planes(out, "i420")[0], planes(whole, "i420")[0][10:10 + H, 10:10 + W])
        assert np.array_equal(planes(out, "i420")[1], planes(whole, "i420")[1][5:5 + H // 2, 5:5 + W // 2])
    assert paint(frame_of(smooth_rgb()), sprite, 0, 0, scratch, width=2) == 2 * 3  # a wipe: the first columns


def test_nv12_gives_the_same_picture_as_i420() -> None:
    rgba = random_rgba(15, 23, seed=9)
    canvases = [Canvas(Colour(), H, layout, CPU) for layout in ("i420", "nv12")]
    i420, nv12 = frame_of(smooth_rgb()), frame_of(smooth_rgb(), "nv12")
    for frame, canvas in zip((i420, nv12), canvases):
        paint(frame, sprite_from(rgba, canvas), 9, 7, Scratch(np))
        blend(frame, prepare(rgba, (30, 20, 30, 20), canvas))
    assert np.array_equal(i420_to_nv12(i420), nv12)


def test_an_ad_creative_and_an_overlay_graphic_premultiply_alike() -> None:
    """prepare() (ad slots, may scale) and Sprite.from_rgba() (overlay graphics, never scale) feed one blend:
    unscaled, they must give the same premultiplied planes."""
    rgba = random_rgba(20, 30, seed=5)
    creative = prepare(rgba, (2, 4, 30, 20), CANVAS).sprite
    graphic = sprite_from(rgba)
    assert np.array_equal(creative.luma.premult, graphic.luma.premult)
    assert np.array_equal(creative.luma.transparency, graphic.luma.transparency)
    assert np.array_equal(creative.chroma[(0, 0)].premult, graphic.chroma[(0, 0)].premult)
    assert np.array_equal(creative.chroma[(0, 0)].transparency, graphic.chroma[(0, 0)].transparency)


def test_composite_touches_only_visible_placements_in_order() -> None:
    red, blue = (np.zeros((4, 4, 4), np.uint8) for _ in range(2))
    red[...] = (255, 0, 0, 255)
    blue[...] = (0, 0, 255, 255)
    layer = Layer(1, (SpritePlacement(sprite_from(red), 2, 2), SpritePlacement(sprite_from(blue), 4, 4, essential=True),
                      SpritePlacement(sprite_from(red), 10, 10, shown_ns=100, hidden_ns=200, wipe_ns=50)))
    grey = frame_of(np.full((16, 16, 3), 7, np.uint8))
    frame = grey.copy()
    assert composite(frame, layer, 0, Scratch(np)) == 32  # the timed one is not up at t=0
    rgb = to_rgb(frame, Colour(), "i420")
    near = lambda got, want: np.abs(got.astype(int) - want).max() <= 2  # noqa: E731 - YUV rounding
    assert near(rgb[2, 2], (255, 0, 0)) and near(rgb[6, 6], (0, 0, 255))  # blue over red
    assert np.array_equal(frame[12:16], grey[12:16])
    degraded = grey.copy()
    assert composite(degraded, layer, 0, Scratch(np), essential_only=True) == 16
    assert np.array_equal(planes(degraded, "i420")[0][:4], planes(grey, "i420")[0][:4])


def test_banner_wipe_opens_and_closes() -> None:
    sprite = sprite_from(np.full((2, 100, 4), 255, np.uint8))
    p = SpritePlacement(sprite, 0, 0, shown_ns=1000, hidden_ns=5000, wipe_ns=400)
    assert [p.visible_width(t) for t in (999, 1000, 1200, 1400, 3000, 4800, 5000)] == [0, 0, 50, 100, 100, 50, 0]
    layer = Layer(1, (p,), banner="goal")
    assert layer.banner_open(3000) and not layer.banner_open(1200)


@pytest.mark.gpu
def test_cupy_gives_the_same_bytes_as_numpy() -> None:
    if not gpu_available():
        pytest.skip("no usable CUDA device")
    gpu = select_backend("gpu")
    rgba = random_rgba(64, 80, seed=3)
    for layout in ("i420", "nv12"):
        frame = frame_of(np.random.default_rng(4).integers(0, 256, (120, 160, 3), dtype=np.uint8), layout)
        layers = [Layer(1, (SpritePlacement(Sprite.from_rgba(rgba, Canvas(Colour(), 120, layout, backend)), -11, 51),
                            SpritePlacement(Sprite.from_rgba(rgba, Canvas(Colour(), 120, layout, backend)), 100, 90)))
                  for backend in (CPU, gpu)]
        on_host, on_device = frame.copy(), gpu.asarray(frame)
        composite(on_host, layers[0], 0, Scratch(np))
        composite(on_device, layers[1], 0, Scratch(gpu.xp))
        assert np.array_equal(on_host, gpu.to_host(on_device))
