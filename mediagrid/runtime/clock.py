"""The node's clock: every origin, deadline and latency in mediagrid is in monotonic nanoseconds."""
from __future__ import annotations

import time

now_ns = time.monotonic_ns

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


def ms_to_ns(ms: float) -> int:
    return round(ms * NS_PER_MS)


def ns_to_ms(ns: float) -> float:
    return ns / NS_PER_MS


def wall_to_monotonic_ns(wall_ms: int) -> int:
    """Map a wall-clock timestamp (Kafka message time, epoch ms) onto the monotonic clock."""
    return time.monotonic_ns() - (time.time_ns() - wall_ms * NS_PER_MS)
