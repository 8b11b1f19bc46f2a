"""What travels with every frame: ids and the deadline, in Holoscan metadata (never pickled with the pixels)."""
from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from mediagrid.scheduler.deadline import Deadline

STREAM, INDEX, PTS, ORIGIN_NS, DEADLINE_NS, DEGRADED, REUSE = (
    "stream", "index", "pts", "origin_ns", "deadline_ns", "degraded", "reuse",
)
# Set by live sources only: when the picture arrived from the network (0 for a stand-in through a feed gap), and
# the ad break (SCTE-35 avail) the frame lies in ("" outside any).
ARRIVAL_NS, BREAK = "arrival_ns", "break"


def stamp(metadata: MutableMapping[str, Any], *, stream: str, index: int, pts: float, deadline: Deadline) -> None:
    """Write a new frame's identity and deadline into the emitting operator's metadata."""
    metadata[STREAM] = stream
    metadata[INDEX] = index
    metadata[PTS] = pts
    metadata[ORIGIN_NS] = deadline.origin_ns
    metadata[DEADLINE_NS] = deadline.deadline_ns
    metadata[DEGRADED] = False
    metadata[REUSE] = False


def deadline_of(metadata: MutableMapping[str, Any]) -> Deadline:
    return Deadline(int(metadata[ORIGIN_NS]), int(metadata[DEADLINE_NS]))


def item_id(metadata: MutableMapping[str, Any]) -> str:
    """A frame's id in records and reports: ``stream:index``."""
    return f"{metadata[STREAM]}:{metadata[INDEX]}"
