"""One live input as the apps see it: the feed's reader, the ad breaks its cues announce, and how it plays out.

Built once per run from the config's ``source`` section (``kind: live``); the source operator plays frames out
of it and the outputs read its audio and breaks, so all of them agree on one feed clock.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from mediagrid.broadcast.breaks import Break, BreakBook
from mediagrid.broadcast.feed import FeedFormat, FeedSettings, LiveFeed, check_url
from mediagrid.broadcast.playout import Playout
from mediagrid.broadcast.scte35 import InvalidCue, parse_section
from mediagrid.media.yuv import Layout
from mediagrid.errors import MediaError
from mediagrid.runtime.clock import NS_PER_MS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveSettings:
    """The ``source`` section of a live input (see schemas/app-common.schema.json for each key's meaning)."""

    url: str
    jitter_ms: float = 100.0
    gap_ms: float = 500.0
    on_loss: str = "hold"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 1.0
    max_break_s: float = 180.0

    @classmethod
    def from_section(cls, section: Any, where: str) -> LiveSettings:
        return cls(url=check_url(section["url"], where), **{k: section[k] for k in (
            "jitter_ms", "gap_ms", "on_loss", "connect_timeout_s", "read_timeout_s", "max_break_s")})


@dataclass
class CueOutcomes:
    """Sections that could not become breaks, next to the book's own counts."""

    corrupt: int = 0
    ignored: int = 0  # valid sections that ask nothing of a break (splice_null, other time_signals)
    last_corrupt: str = ""


@dataclass
class LiveInput:
    """The run's live input; :meth:`open` connects and waits for the first picture (or fails clearly)."""

    settings: LiveSettings
    feed: LiveFeed
    format: FeedFormat
    book: BreakBook
    playout: Playout[Any]
    cue_outcomes: CueOutcomes = field(default_factory=CueOutcomes)
    # every valid section, for an MPEG-TS output to pass on (re-stamped); the newest kept if none takes them
    passed_on: deque[bytes] = field(default_factory=lambda: deque(maxlen=64))

    @classmethod
    def open(cls, settings: LiveSettings, layout: Layout) -> LiveInput:
        playout_frames = 8  # refined below once the rate is known; the ring only needs an upper bound
        feed = LiveFeed(FeedSettings(settings.url, connect_timeout_s=settings.connect_timeout_s,
                                     read_timeout_s=settings.read_timeout_s),
                        layout=layout, playout_frames=playout_frames + round(settings.jitter_ms / 8)).start()
        fmt = feed.wait_format()
        if not fmt.fps:
            feed.close()
            raise MediaError(f"{settings.url}: the feed does not state its frame rate")
        playout: Playout[Any] = Playout(fps=fmt.fps, delay_ns=round(settings.jitter_ms * NS_PER_MS),
                                        gap_ns=round(settings.gap_ms * NS_PER_MS))
        return cls(settings, feed, fmt, BreakBook(max_break_s=settings.max_break_s), playout)

    def take_cues(self, now_pts: int) -> None:
        """Every section that arrived so far, applied to the break book at the feed's current PTS."""
        while not self.feed.cues.empty():
            section, _ = self.feed.cues.get_nowait()
            try:
                cue = parse_section(section)
            except InvalidCue as exc:
                self.cue_outcomes.corrupt += 1
                self.cue_outcomes.last_corrupt = str(exc)
                log.warning("%s: SCTE-35 section rejected: %s", self.settings.url, exc)
                continue
            self.passed_on.append(section)
            if cue is None:
                self.cue_outcomes.ignored += 1
                continue
            outcome = self.book.on_cue(cue, now_pts)
            log.info("%s: SCTE-35 %s event %d -> %s", self.settings.url, cue.kind, cue.event_id, outcome)
        self.book.expire(now_pts)

    def find_break(self, break_id: str) -> Break | None:
        return next((b for b in self.book.breaks if b.break_id == break_id), None)

    def close(self) -> None:
        self.feed.close()

    def as_dict(self) -> dict[str, Any]:
        """The input's part of the run summary."""
        return {"url": self.settings.url, "feed": asdict(self.feed.counts), "playout": asdict(self.playout.counts),
                "cues": {**asdict(self.book.counts), **asdict(self.cue_outcomes)},
                "format": {"width": self.format.width, "height": self.format.height, "fps": self.format.fps,
                           "audio": self.format.has_audio}}


def seconds(ticks: int) -> float:
    """90 kHz ticks as seconds (the unit frame metadata carries PTS in)."""
    return ticks / 90_000

