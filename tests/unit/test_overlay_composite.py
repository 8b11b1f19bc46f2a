"""The overlay on the shared compositor: integer "over", only the sprites' rectangles, clipping, wipes, and the
same bytes on numpy and cupy."""
from __future__ import annotations

import numpy as np
import pytest

from mediagrid.media.compositor import Scratch, Sprite, paint, prepare
from mediagrid.overlay.layers import Layer, SpritePlacement, composite
from mediagrid.runtime import gpu_available, select_backend


def sprite_from(rgba: np.ndarray) -> Sprite:
    made = Sprite.from_rgba(rgba, np.asarray)
    assert made is not None
    return made


def random_rgba(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[5, :, 3], rgba[1, :, 3] = 0, 255  # a fully transparent and a fully opaque row (inside: no crop)
    return rgba


def test_blend_matches_straight_alpha_over_within_rounding() -> None:
    rgba = random_rgba(20, 30)
    frame = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    reference = frame.astype(np.float64)
    a = rgba[..., 3:4] / 255
    reference[5:25, 7:37] = rgba[..., :3] * a + reference[5:25, 7:37] * (1 - a)
    out = frame.copy()
    assert paint(out, sprite_from(rgba), 7, 5, Scratch(np)) == 20 * 30
    assert np.abs(out.astype(np.float64) - reference).max() <= 1.0
    assert np.array_equal(out[10, 7:37], frame[10, 7:37])  # alpha 0 leaves the frame exactly as it was
    assert np.array_equal(out[6, 7:37], rgba[1, :, :3])  # alpha 255 replaces it exactly


def test_an_ad_creative_and_an_overlay_graphic_premultiply_alike() -> None:
    """prepare() (ad slots, may scale) and Sprite.from_rgba() (overlay graphics, never scale) feed one blend:
    unscaled, they must give the same premultiplied bytes."""
    rgba = random_rgba(20, 30, seed=5)
    rgba[0, :, 3] = rgba[-1, :, 3] = 200  # visible edges: nothing to crop
    creative = prepare(rgba, (0, 0, 30, 20), select_backend("cpu")).sprite
    graphic = sprite_from(rgba)
    assert np.array_equal(creative.premult, graphic.premult)
    assert np.array_equal(creative.transparency, graphic.transparency)


def test_sprites_are_cropped_and_clipped_to_the_frame() -> None:
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    rgba[2:5, 3:8] = (255, 0, 0, 255)
    sprite = sprite_from(rgba)
    assert (sprite.dx, sprite.dy, sprite.width, sprite.height) == (3, 2, 5, 3)
    assert Sprite.from_rgba(np.zeros((4, 4, 4), np.uint8), np.asarray) is None
    frame = np.zeros((6, 6, 3), dtype=np.uint8)
    scratch = Scratch(np)
    assert paint(frame, sprite, -2, 4, scratch) == 3 * 2  # 2 columns cut left, 1 row cut below
    assert frame[..., 0].sum() == 255 * 6 and frame[4:, :3, 0].all()
    assert paint(frame, sprite, 6, 0, scratch) == 0 and paint(frame, sprite, 0, -3, scratch) == 0
    assert paint(frame, sprite, 0, 0, scratch, width=2) == 2 * 3  # a wipe: only the first columns


def test_composite_touches_only_visible_placements_in_order() -> None:
    red, blue = (np.zeros((4, 4, 4), np.uint8) for _ in range(2))
    red[...] = (255, 0, 0, 255)
    blue[...] = (0, 0, 255, 128)
    layer = Layer(1, (SpritePlacement(sprite_from(red), 2, 2), SpritePlacement(sprite_from(blue), 4, 4, essential=True),
                      SpritePlacement(sprite_from(red), 10, 10, shown_ns=100, hidden_ns=200, wipe_ns=50)))
    frame = np.full((16, 16, 3), 7, dtype=np.uint8)
    assert composite(frame, layer, 0, Scratch(np)) == 32  # the timed one is not up at t=0
    assert tuple(frame[3, 3]) == (255, 0, 0) and tuple(frame[5, 5]) == (127, 0, 128)  # blue over red
    assert tuple(frame[7, 7]) == (3, 3, 132) and (frame[12:, :] == 7).all() and (frame[:2] == 7).all()
    degraded = np.full((16, 16, 3), 7, dtype=np.uint8)
    assert composite(degraded, layer, 0, Scratch(np), essential_only=True) == 16
    assert tuple(degraded[2, 2]) == (7, 7, 7)


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
    import cupy

    rgba = random_rgba(64, 80, seed=3)
    frame = np.random.default_rng(4).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    layers = [Layer(1, (SpritePlacement(Sprite.from_rgba(rgba, to_device), -10, 50),
                        SpritePlacement(Sprite.from_rgba(rgba, to_device), 100, 90)))
              for to_device in (np.asarray, cupy.asarray)]
    on_host, on_device = frame.copy(), cupy.asarray(frame)
    composite(on_host, layers[0], 0, Scratch(np))
    composite(on_device, layers[1], 0, Scratch(cupy))
    assert np.array_equal(on_host, cupy.asnumpy(on_device))
