"""The overlay as the frame path sees it: what to draw where and when, blended by the one compositor.

A :class:`Layer` is not a full-frame RGBA image: it is a list of small premultiplied sprites
(:class:`~mediagrid.media.compositor.Sprite`) and where they go. Only those rectangles are ever
touched, so a 1080p frame with a scorebug, 22 player markers and a banner costs a few hundred thousand
pixel blends instead of two million, and a sprite that
did not change (a player's marker, the scorebug between goals) is uploaded to the device once and only
moves. Layers and sprites are immutable once built: the frame path may read one while the renderer
builds the next.

The blend (:func:`~mediagrid.media.compositor.paint`, shared with ad insertion) is integer arithmetic,
so numpy and cupy give the same bytes and a golden image does not depend on the device.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediagrid.media.compositor import Scratch, Sprite, paint


@dataclass(frozen=True, slots=True)
class SpritePlacement:
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
    placements: tuple[SpritePlacement, ...]
    banner: str | None = None

    def banner_open(self, at_ns: int) -> bool:
        """Whether the banner is fully revealed at ``at_ns`` (for event snapshots)."""
        if self.banner is None:
            return False
        last = self.placements[-1]
        return last.visible_width(at_ns) == last.sprite.width


def composite(frame: Any, layer: Layer, at_ns: int, scratch: Scratch, *, essential_only: bool = False) -> int:
    """Blend every placement of ``layer`` that is visible at ``at_ns`` onto ``frame`` in order; returns the
    number of pixels blended."""
    blended = 0
    for p in layer.placements:
        if essential_only and not p.essential:
            continue
        width = p.visible_width(at_ns)
        if width > 0:
            blended += paint(frame, p.sprite, p.x, p.y, scratch, width)
    return blended
