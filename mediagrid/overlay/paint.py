"""Paints each broadcast graphic into its own small straight-alpha RGBA image with Pillow.

Why Pillow (p50 per graphic at 1080p sizes from ``perf/sports_overlay.py render``, recorded in
perf/results/sports_overlay_render.md): OpenCV 5's TrueType ``putText`` is the fastest (0.03 to 0.18 ms) but
has no rounded shapes and its centring flags misplace text; skia-python (0.07 to 0.34 ms) premultiplies
natively but is a 15 MB wheel that prints a Fontconfig warning in every run; Pillow (0.46 ms a player
marker, 1.5 ms a banner; FreeType text with exact anchors) comes with Holoscan already. Painting is rare:
:mod:`mediagrid.overlay.render` caches every graphic by what it says and the clock by character,
so per telemetry frame only the ball trail is painted, and building a layer takes about 1.1 ms.

Sizes are for a 1080-line frame and scale with the frame height. Fonts are DejaVu (Debian
``fonts-dejavu-core``) unless the config names others.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mediagrid.errors import UsageError

RGB = tuple[int, int, int]
WHITE = (255, 255, 255, 255)
PANEL = (14, 20, 42, 235)
PANEL_LIGHT = (38, 48, 86, 235)
GOLD = (255, 206, 0, 255)
CARD = {"yellow": (250, 204, 21, 255), "red": (220, 38, 38, 255)}


@dataclass(frozen=True)
class Fonts:
    regular: Path
    bold: Path


def _font(path: Path, size: float) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(path), max(round(size), 6))
    except OSError as exc:
        raise UsageError(f"sports_overlay.graphics: cannot load the font {path} ({exc}); install Debian's "
                         f"fonts-dejavu-core or set sports_overlay.graphics.font/bold_font") from exc


def abbreviation(team: str) -> str:
    """Three letters for the scorebug: the team name's first word (``Northbridge FC`` -> ``NOR``)."""
    word = "".join(ch for ch in team.split()[0] if ch.isalnum()) if team.split() else ""
    return (word or team or "?")[:3].upper()


def short_name(name: str) -> str:
    """``Kenji Mensah`` -> ``K. Mensah``; a single name stays as it is."""
    parts = name.split()
    return f"{parts[0][0]}. {' '.join(parts[1:])}" if len(parts) > 1 else name


class Painter:
    """One instance per frame size; fonts are loaded once."""

    def __init__(self, fonts: Fonts, frame_height: int) -> None:
        s = self.scale = frame_height / 1080
        self.bug = _font(fonts.bold, 30 * s)
        self.clock_font = _font(fonts.bold, 28 * s)
        self.number = _font(fonts.bold, 15 * s)
        self.name = _font(fonts.regular, 14 * s)
        self.title = _font(fonts.bold, 40 * s)
        self.detail = _font(fonts.regular, 26 * s)
        self.small = _font(fonts.bold, 16 * s)

    def _px(self, value: float) -> int:
        return max(round(value * self.scale), 1)

    def scorebug(self, home: str, away: str, home_goals: int, away_goals: int, colours: tuple[RGB, RGB],
                 red_cards: tuple[int, int]) -> np.ndarray:
        """Team codes, colour tabs, the score and a red mark per sent-off player."""
        h, pad, tab = self._px(52), self._px(16), self._px(10)
        score = f"{home_goals} - {away_goals}"
        team_w = max(self.bug.getlength(abbreviation(home)), self.bug.getlength(abbreviation(away)))
        score_w = self.bug.getlength(score) + 2 * pad
        width = round(2 * (tab + pad + team_w + pad) + score_w)
        img = Image.new("RGBA", (width, h))
        draw = ImageDraw.Draw(img)
        draw.rounded_rectangle((0, 0, width - 1, h - 1), self._px(8), fill=PANEL)
        draw.rectangle((0, 0, tab, h - 1), fill=(*colours[0], 255))
        draw.rectangle((width - 1 - tab, 0, width - 1, h - 1), fill=(*colours[1], 255))
        mid = h / 2
        left_c = tab + pad + team_w / 2
        right_c = width - left_c
        draw.text((left_c, mid), abbreviation(home), font=self.bug, fill=WHITE, anchor="mm")
        draw.text((right_c, mid), abbreviation(away), font=self.bug, fill=WHITE, anchor="mm")
        score_x0 = tab + 2 * pad + team_w
        draw.rectangle((score_x0, 0, score_x0 + score_w, h - 1), fill=PANEL_LIGHT)
        draw.text((score_x0 + score_w / 2, mid), score, font=self.bug, fill=GOLD, anchor="mm")
        # red cards: small marks stacked in the gap between a team's code and the score
        mark_w, mark_h, gap = self._px(6), self._px(10), self._px(3)
        gap_centre = tab + pad + team_w + pad / 2
        for count, x_centre in ((red_cards[0], gap_centre), (red_cards[1], width - gap_centre)):
            count = min(count, 3)
            y = mid - (count * (mark_h + gap) - gap) / 2
            for _ in range(count):
                draw.rectangle((x_centre - mark_w / 2, y, x_centre + mark_w / 2, y + mark_h), fill=CARD["red"])
                y += mark_h + gap
        return np.asarray(img)

    # The clock is a box plus one cached image per character: the text changes every second (every frame in
    # a sped-up scenario) but only ever uses 11 characters, so after the first minute nothing is painted.
    @property
    def clock_pad(self) -> int:
        return self._px(14)

    def clock_advance(self, char: str) -> float:
        return self.clock_font.getlength(char)

    def clock_box(self, period: str, chars: int) -> np.ndarray:
        """The clock's panel, wide enough for ``chars`` characters of time, with the period on the right."""
        h, pad = self._px(52), self.clock_pad
        period_w = self.small.getlength(period)
        width = round(pad + chars * self.clock_font.getlength("0") + pad + period_w + pad)
        img = Image.new("RGBA", (width, h))
        draw = ImageDraw.Draw(img)
        draw.rounded_rectangle((0, 0, width - 1, h - 1), self._px(8), fill=PANEL_LIGHT)
        draw.text((width - pad, h / 2), period, font=self.small, fill=GOLD, anchor="rm")
        return np.asarray(img)

    def clock_glyph(self, char: str) -> np.ndarray:
        """One character of the clock, on the box's height so that every glyph shares its baseline."""
        h = self._px(52)
        img = Image.new("RGBA", (round(self.clock_advance(char)) + 2, h))
        ImageDraw.Draw(img).text((0, h / 2), char, font=self.clock_font, fill=WHITE, anchor="lm")
        return np.asarray(img)

    def possession(self, home: str, away: str, home_share: float, colours: tuple[RGB, RGB]) -> np.ndarray:
        """A split bar: the home colour grows from the left with the home team's share of possession."""
        width, h = self._px(420), self._px(30)
        img = Image.new("RGBA", (width, h))
        draw = ImageDraw.Draw(img)
        split = round(width * home_share)
        draw.rounded_rectangle((0, 0, width - 1, h - 1), self._px(6), fill=(*colours[1], 230))
        if split > 0:
            draw.rounded_rectangle((0, 0, max(split, self._px(12)), h - 1), self._px(6), fill=(*colours[0], 230))
        percent = round(home_share * 100)
        pad = self._px(10)
        draw.text((pad, h / 2), f"{abbreviation(home)} {percent}%", font=self.small, fill=WHITE, anchor="lm")
        draw.text((width - pad, h / 2), f"{100 - percent}% {abbreviation(away)}", font=self.small, fill=WHITE,
                  anchor="rm")
        draw.text((width / 2, h / 2), "POSSESSION", font=self.small, fill=(255, 255, 255, 200), anchor="mm")
        return np.asarray(img)

    def marker(self, shirt: int, name: str | None, colour: RGB, yellow: bool) -> tuple[np.ndarray, int, int]:
        """A shirt-number disc with an optional name plate below; returns the image and the disc centre,
        which goes on the player's position."""
        r, ring = self._px(14), self._px(2)
        label = short_name(name) if name else None
        plate_w = round(self.name.getlength(label)) + 2 * self._px(6) if label else 0
        plate_h = self._px(20) if label else 0
        width = max(2 * r + 2 * ring + self._px(12), plate_w) + 2
        height = 2 * r + 2 * ring + (self._px(3) + plate_h if label else 0) + 2
        cx, cy = width // 2, r + ring + 1
        img = Image.new("RGBA", (width, height))
        draw = ImageDraw.Draw(img)
        draw.ellipse((cx - r - ring, cy - r - ring, cx + r + ring, cy + r + ring), fill=WHITE)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*colour, 255))
        draw.text((cx, cy), str(shirt), font=self.number, fill=WHITE, anchor="mm")
        if yellow:
            w, h = self._px(8), self._px(11)
            draw.rectangle((cx + r - w // 2, cy - r - ring, cx + r + w // 2, cy - r - ring + h), fill=CARD["yellow"])
        if label:
            top = cy + r + ring + self._px(3)
            left = (width - plate_w) // 2
            draw.rounded_rectangle((left, top, left + plate_w - 1, top + plate_h - 1), self._px(4), fill=(0, 0, 0, 160))
            draw.text((width / 2, top + plate_h / 2), label, font=self.name, fill=WHITE, anchor="mm")
        return np.asarray(img), cx, cy

    def ball(self) -> tuple[np.ndarray, int, int]:
        r = self._px(6)
        size = 2 * r + 3
        img = Image.new("RGBA", (size, size))
        ImageDraw.Draw(img).ellipse((1, 1, size - 2, size - 2), fill=WHITE, outline=(20, 20, 20, 255),
                                    width=max(self._px(1.5), 1))
        return np.asarray(img), size // 2, size // 2

    def trail(self, points: np.ndarray) -> tuple[np.ndarray, int, int] | None:
        """The ball's recent path in frame pixels (oldest first), fading towards the oldest; returns the
        image and the frame position of its top-left corner."""
        if len(points) < 2:
            return None
        width = self._px(3)
        margin = width + 1
        x0, y0 = np.floor(points.min(axis=0)).astype(int) - margin
        x1, y1 = np.ceil(points.max(axis=0)).astype(int) + margin
        img = Image.new("RGBA", (int(x1 - x0) + 1, int(y1 - y0) + 1))
        draw = ImageDraw.Draw(img)
        local = points - (x0, y0)
        n = len(local) - 1
        for i in range(n):
            alpha = round(40 + 180 * (i + 1) / n)
            draw.line((*local[i], *local[i + 1]), fill=(255, 230, 120, alpha), width=width)
        return np.asarray(img), int(x0), int(y0)

    def banner(self, title: str, detail: str, colour: RGB, accent: tuple[int, int, int, int]) -> np.ndarray:
        """The lower-third card for a goal, card or substitution."""
        pad, stripe = self._px(24), self._px(14)
        width = round(max(self.title.getlength(title), self.detail.getlength(detail)) + 2 * pad + stripe)
        width = max(width, self._px(720))
        h = self._px(118)
        img = Image.new("RGBA", (width, h))
        draw = ImageDraw.Draw(img)
        draw.rounded_rectangle((0, 0, width - 1, h - 1), self._px(10), fill=PANEL)
        draw.rectangle((0, 0, stripe, h - 1), fill=(*colour, 255))
        draw.rectangle((stripe, h - self._px(6), width - 1, h - 1), fill=accent)
        draw.text((stripe + pad, self._px(38)), title, font=self.title, fill=WHITE, anchor="lm")
        draw.text((stripe + pad, self._px(84)), detail, font=self.detail, fill=(225, 230, 240, 255), anchor="lm")
        return np.asarray(img)
