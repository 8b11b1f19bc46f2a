"""Overlay rendering: camera projection, painting only what changed, and a golden image of a fixed state.

The golden image is compared after a 4x4 box filter: FreeType versions may move anti-aliased text edges by
a level or two, but a missing, moved or recoloured graphic changes whole blocks. Regenerate it after an
intended change with ``MEDIAGRID_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_overlay_render.py``
and look at it before committing.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mediagrid.errors import UsageError
from mediagrid.media.compositor import Canvas
from mediagrid.media import yuv
from mediagrid.media.yuv import Colour, from_rgb, to_rgb
from mediagrid.overlay.layers import Scratch, composite
from mediagrid.overlay.paint import Fonts, Painter, abbreviation, short_name
from mediagrid.overlay.render import Camera, LayerBuilder, Style, clock_text
from mediagrid.overlay.state import Banner, MatchView, PlayerView
from mediagrid.runtime import select_backend

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "overlay_golden.png"
FONTS = Fonts(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
              Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))
CORNERS = [[0.04, 0.93], [0.96, 0.93], [0.80, 0.30], [0.20, 0.30]]
W, H = 960, 540
CANVAS = Canvas(Colour(), H, "i420", select_backend("cpu"))
STYLE = Style.from_config(dict(home_colour="#c8102e", away_colour="#1d4ed8", names=True, banner_s=5, wipe_ms=400))


def fixed_view(**changes: object) -> MatchView:
    players = tuple(PlayerView(100 + i, team, i % 11 + 1, f"Player{i} Surname{i}", x, y, yellow=int(i == 3))
                    for i, (team, x, y) in enumerate([("home", 20, 34), ("home", 40, 10), ("home", 50, 50),
                                                      ("home", 30, 60), ("away", 85, 34), ("away", 70, 20),
                                                      ("away", 60, 45)]))
    view = MatchView(home_team="Northbridge FC", away_team="Rivermouth United", home=2, away=1, clock_s=4021.6,
                     period=2, running=True, players=players, ball=(52.0, 30.0),
                     trail=((40.0, 24.0), (44.0, 26.0), (48.0, 28.0), (52.0, 30.0)), possession="home",
                     home_share=0.56, red_cards=(0, 1),
                     banner=Banner("goal", "home", "GOAL  Northbridge FC", "67'  9  Player0 Surname0", 0))
    return replace(view, **changes)


def builder() -> LayerBuilder:
    return LayerBuilder(Painter(FONTS, H), Camera(CORNERS, W, H), STYLE, W, H, CANVAS)


def render(view: MatchView) -> np.ndarray:
    """The graphics composited into a YUV frame as the frame path does it, then shown as RGB."""
    frame = from_rgb(np.broadcast_to(np.array((34, 120, 58), np.uint8), (H, W, 3)).copy(), Colour())
    layer = builder().build(view)
    composite(frame, layer, STYLE.wipe_ns, Scratch(np))  # banner fully open
    return to_rgb(frame, Colour(), "i420")


def blocks(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[0] // 4 * 4, image.shape[1] // 4 * 4
    return image[:h, :w].astype(np.float64).reshape(h // 4, 4, w // 4, 4, 3).mean(axis=(1, 3))


def test_golden_image() -> None:
    got = render(fixed_view())
    if os.environ.get("MEDIAGRID_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(got).save(GOLDEN, optimize=True)
    expected = np.asarray(Image.open(GOLDEN).convert("RGB"))
    assert got.shape == expected.shape
    diff = np.abs(blocks(got) - blocks(expected))
    where = np.unravel_index(diff.argmax(), diff.shape)
    assert diff.max() <= 24, f"a graphic differs from the golden image near pixel {4 * where[0], 4 * where[1]}"
    assert diff.mean() <= 0.5


def test_golden_comparison_catches_a_missing_marker() -> None:
    view = fixed_view()
    moved = render(replace(view, players=view.players[1:]))
    assert np.abs(blocks(moved) - blocks(render(view))).max() > 24


def test_camera_maps_the_pitch_corners_and_keeps_lines_straight() -> None:
    camera = Camera(CORNERS, 1000, 500)
    corners = camera.project(np.array([(0, 0), (105, 0), (105, 68), (0, 68)]))
    assert np.allclose(corners, np.array(CORNERS) * (1000, 500))
    halfway = camera.project(np.array([(52.5, 0), (52.5, 34), (52.5, 68)]))
    assert np.allclose(halfway[:, 0], 500)  # a symmetric view keeps the halfway line vertical
    assert halfway[0, 1] > halfway[1, 1] > halfway[2, 1]  # the near touchline is lower in the picture
    with pytest.raises(ValueError, match="degenerate"):
        Camera([[0, 0], [0.5, 0.5], [1, 1], [0.2, 0.2]], 100, 100)


def test_only_what_changed_is_painted_again() -> None:
    b = builder()
    view = fixed_view(trail=())
    first = b.build(view)
    painted = dict(b.painted)
    moved = replace(view, players=tuple(replace(p, x=p.x + 3) for p in view.players), ball=(60.0, 30.0))
    second = b.build(moved)
    assert dict(b.painted) == painted  # new positions only: every sprite came from the cache
    assert second.version == first.version + 1
    assert [p.x for p in second.placements[:7]] != [p.x for p in first.placements[:7]]
    b.build(replace(moved, clock_s=4080.0, home=3))  # 67:01 -> 68:00: one new digit
    assert {k: b.painted[k] - painted.get(k, 0) for k in b.painted} == {
        "marker": 0, "ball": 0, "scorebug": 1, "clock": 0, "glyph": 1, "possession": 0, "banner": 0}


def test_degenerate_inputs_do_not_break_the_layer() -> None:
    empty = fixed_view(players=(), ball=None, trail=((1.0, 1.0),), clock_s=None, home_share=None, banner=None)
    layer = builder().build(empty)
    assert len(layer.placements) == 1 and layer.banner is None  # the scorebug alone
    far = fixed_view(players=(PlayerView(1, "home", 7, "X", -500.0, 900.0),))
    frame = yuv.empty(W, H)
    composite(frame, builder().build(far), 0, Scratch(np))  # off the frame: clipped, not an error


def test_text_helpers() -> None:
    assert [abbreviation(t) for t in ("Northbridge FC", "1. FC Köln", "AC")] == ["NOR", "1", "AC"]
    assert short_name("Kenji Mensah") == "K. Mensah" and short_name("Pelé") == "Pelé"
    assert [clock_text(s) for s in (0, 59.9, 4021.6, 6000)] == ["00:00", "00:59", "67:01", "100:00"]


def test_a_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nope.ttf.*fonts-dejavu-core"):
        Painter(Fonts(tmp_path / "nope.ttf", FONTS.bold), 1080)
