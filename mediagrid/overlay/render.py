"""From a match snapshot to a :class:`Layer`: where each graphic goes, painting only what changed.

Every graphic is cached by what it says (a player's marker by shirt, name, colour and card; the scorebug
by codes, score and red cards; the clock box by its text), so a new snapshot usually costs only new
positions: player markers move with the tracking feed at 25 Hz but are painted once per player. The
cache is bounded (least recently used out).

Pitch positions reach the frame through a fixed camera: the homography that takes the four pitch corners
(metres) to where they appear in the picture (fractions of the frame), as set in the config.
"""
from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mediagrid.runtime.clock import NS_PER_S
from mediagrid.media.compositor import Canvas, Sprite
from mediagrid.overlay.layers import Layer, SpritePlacement
from mediagrid.overlay.paint import CARD, Painter
from mediagrid.overlay.state import MatchView

PITCH = (105.0, 68.0)
PERIODS = {1: "1H", 2: "2H", 3: "ET1", 4: "ET2", 5: "PEN"}
CACHE_SIZE = 256
Cached = tuple[Sprite | None, int, int]  # a painted graphic (None: nothing visible) and its anchor point


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 projective map taking the four ``src`` points to the four ``dst`` points (no three on a line)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    try:
        h = np.linalg.solve(np.asarray(rows, dtype=np.float64), np.asarray(rhs, dtype=np.float64))
    except np.linalg.LinAlgError as exc:
        raise ValueError("the camera corners are degenerate (three of them on one line?)") from exc
    return np.append(h, 1.0).reshape(3, 3)


class Camera:
    """Pitch metres to frame pixels. ``corners`` are where the pitch corners (0,0), (105,0), (105,68) and
    (0,68) appear, as fractions of the frame width and height."""

    def __init__(self, corners: Sequence[Sequence[float]], width: int, height: int) -> None:
        length, breadth = PITCH
        src = np.array([(0, 0), (length, 0), (length, breadth), (0, breadth)], dtype=np.float64)
        dst = np.asarray(corners, dtype=np.float64) * (width, height)
        self.matrix = homography(src, dst)

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) pitch metres to (N, 2) frame pixels."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        h = np.column_stack([pts, np.ones(len(pts))]) @ self.matrix.T
        return h[:, :2] / h[:, 2:3]


@dataclass(frozen=True)
class Style:
    """What the config's ``graphics`` section sets."""

    home_colour: tuple[int, int, int]
    away_colour: tuple[int, int, int]
    names: bool
    banner_ns: int
    wipe_ns: int

    @classmethod
    def from_config(cls, graphics: dict[str, Any]) -> Style:
        return cls(_rgb(graphics["home_colour"]), _rgb(graphics["away_colour"]), graphics["names"],
                   round(graphics["banner_s"] * NS_PER_S), round(graphics["wipe_ms"] * 1_000_000))


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = int(hex_colour.lstrip("#"), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


class LayerBuilder:
    """Turns each :class:`MatchView` into the next :class:`Layer` (no Holoscan here: unit-testable)."""

    def __init__(self, painter: Painter, camera: Camera, style: Style, width: int, height: int,
                 canvas: Canvas) -> None:
        self.painter = painter
        self.camera = camera
        self.style = style
        self.width, self.height = width, height
        self.canvas = canvas
        self.version = 0
        self.painted: Counter[str] = Counter()  # graphics painted, by kind (cache misses)
        self._cache: OrderedDict[tuple[Any, ...], Cached] = OrderedDict()
        self._margin = round(0.03 * height)
        self._last_trail: tuple[tuple[tuple[float, float], ...], list[SpritePlacement]] = ((), [])

    def build(self, view: MatchView) -> Layer:
        placements: list[SpritePlacement] = []
        placements += self._pitch(view)
        placements += self._scorebug(view)
        banner = self._banner(view)
        if banner is not None:
            placements.append(banner)
        self.version += 1
        return Layer(self.version, tuple(placements), view.banner.kind if banner is not None else None)

    # -- cache ---------------------------------------------------------------------------------------
    def _sprite(self, key: tuple[Any, ...], paint: Callable[[], tuple[np.ndarray, int, int]]) -> Cached:
        """The sprite for ``key`` and its anchor (the canvas point that goes on the target position)."""
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        image, ax, ay = paint()
        self.painted[key[0]] += 1
        sprite = Sprite.from_rgba(image, self.canvas)
        entry = (sprite, ax, ay)
        self._cache[key] = entry
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry

    @staticmethod
    def _place(entry: Cached, x: float, y: float, **kwargs: Any) -> list[SpritePlacement]:
        sprite, ax, ay = entry
        if sprite is None:
            return []
        return [SpritePlacement(sprite, round(x) - ax + sprite.dx, round(y) - ay + sprite.dy, **kwargs)]

    # -- graphics ------------------------------------------------------------------------------------
    def _colour(self, team: str) -> tuple[int, int, int]:
        return self.style.home_colour if team == "home" else self.style.away_colour

    def _pitch(self, view: MatchView) -> list[SpritePlacement]:
        """Ball trail under the markers, markers under the ball."""
        out: list[SpritePlacement] = []
        p = self.painter
        out += self._trail(view.trail)
        if view.players:
            at = self.camera.project(np.array([(pl.x, pl.y) for pl in view.players]))
            for player, (x, y) in zip(view.players, at, strict=True):
                name = player.name if self.style.names else None
                colour = self._colour(player.team)
                entry = self._sprite(("marker", player.shirt, name, colour, player.yellow > 0),
                                     lambda pl=player, n=name, c=colour: p.marker(pl.shirt, n, c, pl.yellow > 0))
                out += self._place(entry, x, y)
        if view.ball is not None:
            (x, y), = self.camera.project(np.asarray([view.ball]))
            out += self._place(self._sprite(("ball",), p.ball), x, y)
        return out

    def _trail(self, trail: tuple[tuple[float, float], ...]) -> list[SpritePlacement]:
        """New with every frame message, so kept apart from the cache (it would push the markers out); a
        snapshot without a new frame (a clock or event message) reuses the last one."""
        if self._last_trail[0] != trail:
            placements = []
            painted = self.painter.trail(self.camera.project(np.asarray(trail))) if len(trail) >= 2 else None
            if painted is not None:
                self.painted["trail"] += 1
                image, x0, y0 = painted
                sprite = Sprite.from_rgba(image, self.canvas)
                if sprite is not None:
                    placements.append(SpritePlacement(sprite, x0 + sprite.dx, y0 + sprite.dy))
            self._last_trail = (trail, placements)
        return self._last_trail[1]

    def _scorebug(self, view: MatchView) -> list[SpritePlacement]:
        p, m = self.painter, self._margin
        colours = (self.style.home_colour, self.style.away_colour)
        bug = self._sprite(("scorebug", view.home_team, view.away_team, view.home, view.away, colours, view.red_cards),
                           lambda: (p.scorebug(view.home_team, view.away_team, view.home, view.away, colours,
                                               view.red_cards), 0, 0))
        out = self._place(bug, m, m, essential=True)
        bug_right = m + (bug[0].width + bug[0].dx if bug[0] is not None else 0)
        if view.clock_s is not None:
            out += self._clock(view, bug_right + round(6 * p.scale), m)
        if view.home_share is not None:
            share = round(view.home_share, 2)
            bar = self._sprite(("possession", view.home_team, view.away_team, share, colours),
                               lambda: (p.possession(view.home_team, view.away_team, share, colours), 0, 0))
            out += self._place(bar, m, m + round(60 * p.scale))
        return out

    def _clock(self, view: MatchView, x: int, y: int) -> list[SpritePlacement]:
        """The clock's box, then its characters from the glyph cache (see :meth:`Painter.clock_glyph`)."""
        p = self.painter
        text, period = clock_text(view.clock_s), PERIODS.get(view.period, "")
        box = self._sprite(("clock", period, len(text)), lambda: (p.clock_box(period, len(text)), 0, 0))
        out = self._place(box, x, y, essential=True)
        at = x + p.clock_pad
        for char in text:
            glyph = self._sprite(("glyph", char), lambda c=char: (p.clock_glyph(c), 0, 0))
            out += self._place(glyph, at, y, essential=True)
            at += p.clock_advance(char)
        return out

    def _banner(self, view: MatchView) -> SpritePlacement | None:
        banner = view.banner
        if banner is None:
            return None
        p = self.painter
        colour = self._colour(banner.team)
        accent = CARD[banner.card] if banner.card else (*colour, 255)
        entry = self._sprite(("banner", banner.title, banner.detail, colour, accent),
                             lambda: (p.banner(banner.title, banner.detail, colour, accent), 0, 0))
        sprite = entry[0]
        if sprite is None:
            return None
        x = (self.width - sprite.width) // 2
        y = round(self.height * 0.78)
        return SpritePlacement(sprite, x, y, essential=True, shown_ns=banner.since_ns,
                         hidden_ns=banner.since_ns + self.style.banner_ns, wipe_ns=self.style.wipe_ns)


def clock_text(clock_s: float) -> str:
    """The match clock as the scorebug shows it: minutes and seconds, minutes past 99 included."""
    whole = int(clock_s)
    return f"{whole // 60:02d}:{whole % 60:02d}"
