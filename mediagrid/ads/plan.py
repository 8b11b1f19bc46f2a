"""Ad decisions, the creative catalogue, and the plan that the per-frame compositor reads.

Decisions arrive from an ad decision server (Kafka ``ads.decisions``) or from a local schedule file, each
naming a creative of this node's catalogue, a slot as fractions of the frame, and a window of presentation
time. The :class:`AdPlanner` turns them, off the frame path, into an immutable :class:`AdPlan` whose creatives
are already scaled to their slot, premultiplied and on the device, so that the compositor's per-frame work
is a lookup and a region blend. A decision for a creative that the catalogue does not hold, or for another
stream, is counted and set aside, never an error of the run.
"""
from __future__ import annotations

import bisect
import enum
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from mediagrid.config import ConfigError
from mediagrid.config.checks import path_of
from mediagrid.config.yaml_loader import load_document
from mediagrid.errors import MediaError
from mediagrid.kafka.topics import InvalidMessage, decode, encode
from mediagrid.media.compositor import Canvas, PlacedCreative, Rect, prepare

log = logging.getLogger(__name__)

ROLE = "ads.decisions"
DEFAULT_VARIANT = "default"


@dataclass(frozen=True)
class Slot:
    """Where a creative goes, as fractions of the frame from its top left."""

    x: float
    y: float
    w: float
    h: float

    def pixels(self, width: int, height: int) -> Rect:
        """The slot on a ``width`` x ``height`` frame; edges round to the nearest pixel, never outside."""
        x0, y0 = round(self.x * width), round(self.y * height)
        x1, y1 = min(round((self.x + self.w) * width), width), min(round((self.y + self.h) * height), height)
        return x0, y0, max(x1 - x0, 1), max(y1 - y0, 1)


@dataclass(frozen=True)
class AdDecision:
    """One break: show ``creative_id`` in ``slot`` for presentation times ``[start_pts_s, end_pts_s)``."""

    stream_id: str
    break_id: str
    creative_id: str
    slot: Slot
    start_pts_s: float
    duration_s: float

    @property
    def end_pts_s(self) -> float:
        return self.start_pts_s + self.duration_s

    @classmethod
    def from_message(cls, value: Mapping[str, Any]) -> AdDecision:
        """From a message that passed the ``mg.ads.decisions`` schema."""
        return cls(value["stream_id"], value["break_id"], value["creative_id"], Slot(**value["slot"]),
                   float(value["start_pts_s"]), float(value["duration_s"]))


@dataclass(frozen=True)
class Creative:
    """A catalogue entry: its RGBA images (host, straight alpha) by scene label; ``default`` always exists."""

    id: str
    images: Mapping[str, np.ndarray]


def read_rgba(path: Path, what: str) -> np.ndarray:
    """An image file as uint8 HxWx4 RGBA (an image without alpha is opaque); :class:`MediaError` if unreadable."""
    import cv2  # noqa: PLC0415

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if path.is_file() else None
    if image is None or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        problem = "file not found" if not path.exists() else "not an 8-bit RGB or RGBA image"
        raise MediaError(f"{path}: {what}: {problem}")
    code = cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGBA
    return cv2.cvtColor(image, code)


def load_catalogue(entries: Iterable[Mapping[str, Any]]) -> dict[str, Creative]:
    """The config's ``creatives`` list, every image loaded now: a bad file stops the run before it starts."""
    catalogue: dict[str, Creative] = {}
    for entry in entries:
        paths = {DEFAULT_VARIANT: entry["path"], **entry.get("variants", {})}
        images = {label: read_rgba(path_of(p), f"creative {entry['id']!r} ({label})") for label, p in paths.items()}
        catalogue[entry["id"]] = Creative(entry["id"], MappingProxyType(images))
    return catalogue


def load_schedule(path: Path, stream_id: str) -> list[AdDecision]:
    """Decisions from a local schedule file (YAML: ``breaks:`` a list of ``mg.ads.decisions`` messages whose
    ``v``, ``ts_ms``, ``stream_id`` and ``creative_uri`` may be left out). Every entry is checked against the
    topic's schema, so a file and a Kafka message are held to the same contract; problems are reported
    together with their line and column (:class:`ConfigError`, exit code 2)."""
    doc = load_document(path)
    breaks = doc.data.get("breaks")
    if not isinstance(breaks, list):
        raise ConfigError([doc.issue(("breaks",), "expected a list of ad breaks")])
    decisions, issues = [], []
    envelope = {"v": 1, "ts_ms": time.time_ns() // 1_000_000, "stream_id": stream_id}
    for index, entry in enumerate(breaks):
        if not isinstance(entry, dict):
            issues.append(doc.issue(("breaks", index), "expected a mapping (break_id, creative_id, slot, ...)"))
            continue
        message = {**envelope, "creative_uri": f"catalogue:{entry.get('creative_id')}", **entry}
        try:
            decisions.append(AdDecision.from_message(decode(ROLE, encode(message))))
        except InvalidMessage as exc:
            issues.append(doc.issue(("breaks", index), exc.reason))
    if issues:
        raise ConfigError(doc.sort(issues))
    return decisions


@dataclass(frozen=True, eq=False)
class Fill:
    """A decision ready to composite: its creative prepared for its slot, per scene label."""

    decision: AdDecision
    overlays: Mapping[str, PlacedCreative]

    def variant_for(self, label: str | None) -> str:
        """The variant for scene ``label`` when the creative has one, else the default."""
        return label if label in self.overlays else DEFAULT_VARIANT


@dataclass(frozen=True)
class AdPlan:
    """An immutable snapshot of the breaks to show, ordered by start; safe to hand between threads."""

    fills: tuple[Fill, ...] = ()
    version: int = 0
    _starts: tuple[float, ...] = field(default=(), repr=False)
    _longest_s: float = field(default=0.0, repr=False)
    _by_break: Mapping[str, Fill] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, fills: Iterable[Fill], version: int) -> AdPlan:
        ordered = tuple(sorted(fills, key=lambda f: (f.decision.start_pts_s, f.decision.break_id)))
        return cls(ordered, version, tuple(f.decision.start_pts_s for f in ordered),
                   max((f.decision.duration_s for f in ordered), default=0.0),
                   MappingProxyType({f.decision.break_id: f for f in ordered}))

    def for_break(self, break_id: str) -> Fill | None:
        """The decision for a break by its id: how an ad decision answers an avail that a feed's cue opened
        (the cue, not the decision, says when it starts and ends)."""
        return self._by_break.get(break_id)

    def active(self, pts_s: float) -> tuple[Fill, ...]:
        """The fills whose window holds ``pts_s``, earliest start first (later breaks are drawn on top)."""
        found = []
        for index in range(bisect.bisect_right(self._starts, pts_s) - 1, -1, -1):
            fill = self.fills[index]
            if fill.decision.start_pts_s <= pts_s - self._longest_s:
                break
            if pts_s < fill.decision.end_pts_s:
                found.append(fill)
        return tuple(reversed(found))


class DecisionVerdict(str, enum.Enum):
    ACCEPTED = "accepted"
    UNKNOWN_CREATIVE = "unknown_creative"
    OTHER_STREAM = "other_stream"


@dataclass
class PlannerCounts:
    """What happened to the decisions; written to the run directory with the app's other counters."""

    accepted: int = 0
    replaced: int = 0  # a decision for a break already planned (an update) replaces it
    unknown_creative: int = 0
    other_stream: int = 0
    pruned: int = 0  # the oldest breaks dropped to keep the plan bounded
    unknown_creative_ids: list[str] = field(default_factory=list)


class AdPlanner:
    """Keeps the current breaks and prepares their creatives; not thread-safe (one operator owns it)."""

    MAX_UNKNOWN_IDS = 20

    def __init__(self, catalogue: Mapping[str, Creative], frame_size: tuple[int, int], canvas: Canvas, *,
                 stream_id: str, max_breaks: int) -> None:
        self.catalogue = catalogue
        self.width, self.height = frame_size
        self.canvas = canvas
        self.stream_id = stream_id
        self.max_breaks = max_breaks
        self.counts = PlannerCounts()
        self._fills: dict[str, Fill] = {}
        self._overlays: dict[tuple[str, str, Rect], PlacedCreative] = {}
        self._version = 0
        self._plan = AdPlan()

    def accept(self, decision: AdDecision) -> DecisionVerdict:
        """Add ``decision`` to the plan, or count why not."""
        if decision.stream_id != self.stream_id:
            self.counts.other_stream += 1
            return DecisionVerdict.OTHER_STREAM
        fill = self.prepare(decision)
        if fill is None:
            self.counts.unknown_creative += 1
            if len(self.counts.unknown_creative_ids) < self.MAX_UNKNOWN_IDS:
                self.counts.unknown_creative_ids.append(decision.creative_id)
            log.warning("ad break %s: creative %r is not in the catalogue; break skipped",
                        decision.break_id, decision.creative_id)
            return DecisionVerdict.UNKNOWN_CREATIVE
        self.counts.accepted += 1
        self.counts.replaced += decision.break_id in self._fills
        self._fills[decision.break_id] = fill
        self._prune()
        self._version += 1
        self._plan = AdPlan.of(self._fills.values(), self._version)
        return DecisionVerdict.ACCEPTED

    def plan(self) -> AdPlan:
        return self._plan

    def prepare(self, decision: AdDecision) -> Fill | None:
        """``decision``'s creative prepared for its slot, without planning it; None if not in the catalogue."""
        creative = self.catalogue.get(decision.creative_id)
        if creative is None:
            return None
        rect = decision.slot.pixels(self.width, self.height)
        return Fill(decision, MappingProxyType({label: self._overlay(creative, label, rect)
                                                for label in creative.images}))

    def _overlay(self, creative: Creative, label: str, rect: Rect) -> PlacedCreative:
        key = (creative.id, label, rect)
        if key not in self._overlays:
            self._overlays[key] = prepare(creative.images[label], rect, self.canvas)
        return self._overlays[key]

    def _prune(self) -> None:
        """Keep at most ``max_breaks`` breaks (those that end last) and only the overlays they use."""
        if len(self._fills) > self.max_breaks:
            by_end = sorted(self._fills.values(), key=lambda f: (f.decision.end_pts_s, f.decision.break_id))
            for fill in by_end[:len(self._fills) - self.max_breaks]:
                del self._fills[fill.decision.break_id]
                self.counts.pruned += 1
        used = {id(o) for fill in self._fills.values() for o in fill.overlays.values()}
        self._overlays = {k: o for k, o in self._overlays.items() if id(o) in used}
