"""What every traffic generator yields, and the few helpers they share.

A generator is a pure function of its parameters and seed: it yields :class:`Message` s in send order, all
before ``until_s`` (the run's duration), and never looks at the wall clock; pacing in real time is the
producer's job.
"""
from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from mediagrid.kafka.topics import SCHEMA_VERSION


class Message(NamedTuple):
    """One message to publish: its topic role, Kafka key, content, and when to send it (seconds from the
    start of the run)."""

    role: str
    key: bytes | None
    value: dict[str, Any]
    send_at_s: float


def envelope(epoch_ms: int, at_s: float) -> dict[str, Any]:
    """The fields every message starts with; ``ts_ms`` is the planned send time on the wall clock."""
    return {"v": SCHEMA_VERSION, "ts_ms": epoch_ms + round(at_s * 1000)}


def seeded(seed: int, stream: str) -> random.Random:
    """An independent random stream per generator, so that adding one generator (or drawing more in
    one) does not change what the others produce for the same seed."""
    return random.Random(f"{seed}/{stream}")


def merge(*streams: Iterable[Message]) -> Iterator[Message]:
    """Time-ordered union of time-ordered streams (ties keep the order of ``streams``)."""
    return heapq.merge(*streams, key=lambda m: m.send_at_s)


def ticks(hz: float, until_s: float) -> Iterator[tuple[int, float]]:
    """``(n, n / hz)`` for every tick before ``until_s``; computed from n, so times never drift."""
    n = 0
    while (at := n / hz) < until_s:
        yield n, at
        n += 1
