"""At-least-once bookkeeping: which offsets of a partition may be committed.

Items are handled out of order (batches, several stages, dead letters acknowledged at once), but Kafka
keeps a single committed offset per partition. Committing past an item that is still in flight would lose
it on a crash, so the commit point is the lowest offset not yet acknowledged.
"""
from __future__ import annotations

import heapq
import threading
from collections.abc import Hashable, Iterable


class PartitionOffsets:
    """Delivered and acknowledged offsets of one partition; not thread-safe (see OffsetTracker)."""

    def __init__(self) -> None:
        self._in_flight: list[int] = []  # min-heap of delivered, unacknowledged offsets
        self._acked: set[int] = set()  # acknowledged offsets still above the lowest in-flight one
        self._next = -1  # one past the highest offset delivered; -1 before the first delivery

    def delivered(self, offset: int) -> None:
        heapq.heappush(self._in_flight, offset)
        self._next = max(self._next, offset + 1)

    def acked(self, offset: int) -> None:
        self._acked.add(offset)
        while self._in_flight and self._in_flight[0] in self._acked:
            self._acked.discard(heapq.heappop(self._in_flight))

    @property
    def pending(self) -> int:
        return len(self._in_flight)

    def commit_point(self) -> int | None:
        """The offset to commit (Kafka's convention: the next offset to read), or None before any delivery."""
        if self._in_flight:
            return self._in_flight[0]
        return self._next if self._next >= 0 else None


class OffsetTracker:
    """Thread-safe per-partition tracking; acknowledgements arrive from Holoscan threads."""

    def __init__(self) -> None:
        self._parts: dict[Hashable, PartitionOffsets] = {}
        self._committed: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def delivered(self, partition: Hashable, offsets: Iterable[int]) -> None:
        """Record a fetched batch of one partition (one lock for the batch: this is the hot path)."""
        with self._lock:
            part = self._parts.setdefault(partition, PartitionOffsets())
            for offset in offsets:
                part.delivered(offset)

    def acked(self, partition: Hashable, offsets: Iterable[int]) -> None:
        """Acknowledge; an ack for a partition this consumer no longer owns is ignored (it is re-read)."""
        with self._lock:
            part = self._parts.get(partition)
            if part is not None:
                for offset in offsets:
                    part.acked(offset)

    def to_commit(self) -> dict[Hashable, int]:
        """Commit points that moved since the last :meth:`committed` call."""
        with self._lock:
            points = {p: o.commit_point() for p, o in self._parts.items()}
            return {p: c for p, c in points.items() if c is not None and c > self._committed.get(p, -1)}

    def committed(self, points: dict[Hashable, int]) -> None:
        with self._lock:
            for partition, offset in points.items():
                self._committed[partition] = max(offset, self._committed.get(partition, -1))

    def forget(self, partitions: list[Hashable]) -> None:
        """Drop revoked partitions: their unacknowledged items will be re-delivered to the new owner."""
        with self._lock:
            for partition in partitions:
                self._parts.pop(partition, None)
                self._committed.pop(partition, None)

    def pending(self) -> int:
        with self._lock:
            return sum(p.pending for p in self._parts.values())
