"""The consumer bridge: Kafka topics into a bounded, thread-safe hand-off that Holoscan drains.

An aiokafka consumer runs on the run's :class:`LoopThread`. Each message is decoded and validated once;
a bad one is dead-lettered (original bytes, where it came from, why) and acknowledged as soon as the dead
letter is durable. Good ones become :class:`KafkaItem` s in a queue that never holds more than
``max_queue`` items: the consumer fetches only as many records as there is room for and pauses its
partitions while the queue is full. Offsets are committed only up to the lowest unacknowledged item, so a
crash re-delivers (at least once) instead of losing.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from mediagrid.config import KafkaConfig
from mediagrid.kafka.loop import LoopThread
from mediagrid.kafka.checkpoint import Checkpoint, item_id
from mediagrid.kafka.offsets import OffsetTracker
from mediagrid.kafka.producer import SharedProducer
from mediagrid.kafka.topics import InvalidMessage, decode
from mediagrid.runtime.clock import NS_PER_MS, now_ns, wall_to_monotonic_ns

log = logging.getLogger(__name__)

_POLL_MS = 100
_MAX_FETCH_RECORDS = 5_000


@dataclass(slots=True)
class KafkaItem:
    """A decoded, valid message and where it came from; ``origin_ns`` is its Kafka timestamp on the node's
    monotonic clock, so deadlines count from when the broadcaster sent it."""

    role: str
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: dict[str, Any]
    origin_ns: int
    received_ns: int

    @property
    def item_id(self) -> str:
        return item_id(self.topic, self.partition, self.offset)

    @property
    def source(self) -> dict[str, Any]:
        """Where the item came from, copied into outputs so their consumers can de-duplicate."""
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, bridge: ConsumerBridge) -> None:
        self.bridge = bridge

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.bridge._commit()  # hand over everything done so far before the partitions move
        self.bridge.tracker.forget(list(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        log.info("assigned %s", sorted((tp.topic, tp.partition) for tp in assigned))


class ConsumerBridge:
    def __init__(self, config: KafkaConfig, bootstrap: str, subscriptions: Mapping[str, str], loop: LoopThread,
                 producer: SharedProducer, on_ready: Callable[[], None] | None = None) -> None:
        """``subscriptions`` maps each topic name to its role (which schema its messages follow);
        ``bootstrap`` is the resolved broker list (``config.bootstrap`` may say ``embedded``)."""
        self.config = config
        self.bootstrap = bootstrap
        self.subscriptions = dict(subscriptions)
        self.tracker = OffsetTracker()
        self.checkpoint = Checkpoint(self.tracker, producer, config.dead_letter_topic)
        self.on_ready = on_ready or (lambda: None)
        self._loop = loop
        self._producer = producer
        self._queue: deque[KafkaItem] = deque()
        self._lock = threading.Lock()
        self._room = asyncio.Event()
        self._closing = False
        self._consumer: AIOKafkaConsumer | None = None
        self._task: Any = None
        self.consumed = 0
        self.committed = 0
        self.max_depth = 0
        self.commit_errors = 0
        self.lag = 0  # messages on the broker beyond this consumer's position, refreshed at each commit
        self._committed_from: dict[TopicPartition, int] = {}

    # -- the Holoscan side (any thread) ------------------------------------------------------------------
    def take(self, max_items: int) -> list[KafkaItem]:
        """Up to ``max_items`` items, never blocking; frees room for the consumer."""
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(max_items, len(self._queue)))]
        if batch:
            self._loop.call(self._room.set)
        return batch

    def depth(self) -> int:
        with self._lock:
            return len(self._queue)

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> ConsumerBridge:
        self._task = self._loop.submit(self._run())
        return self

    def close(self, timeout: float = 30.0) -> None:
        """Stop fetching, commit what was acknowledged, leave the group."""
        self._closing = True
        self._loop.call(self._room.set)
        if self._task is not None:
            self._task.result(timeout)

    def stats(self) -> dict[str, int]:
        return {"consumed": self.consumed, "dead_lettered": self.checkpoint.dead_lettered, "committed": self.committed,
                "lag": self.lag, "max_queue_depth": self.max_depth, "commit_errors": self.commit_errors}

    # -- the consumer loop (on the LoopThread) -----------------------------------------------------------
    async def _run(self) -> None:
        s = self.config
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=s.group, enable_auto_commit=False,
            auto_offset_reset=s.auto_offset_reset, fetch_max_wait_ms=s.fetch_max_wait_ms,
            session_timeout_ms=s.session_timeout_ms, heartbeat_interval_ms=max(s.session_timeout_ms // 3, 100),
            max_partition_fetch_bytes=max(s.max_message_bytes + 1024, 1 << 20),
        )
        self._consumer.subscribe(list(self.subscriptions), listener=_Rebalance(self))
        await self._start_with_retry()
        last_commit = asyncio.get_running_loop().time()
        try:
            while not self._closing:
                room = s.max_queue - self.depth()
                if room <= 0:
                    await self._wait_for_room()
                else:
                    batches = await self._consumer.getmany(timeout_ms=_POLL_MS,
                                                           max_records=min(room, _MAX_FETCH_RECORDS))
                    self._accept(batches)
                now = asyncio.get_running_loop().time()
                if now - last_commit >= s.commit_interval_ms / 1000:
                    await self._commit()
                    last_commit = now
        finally:
            await self._producer_flush()
            await self._commit()
            await self._consumer.stop()

    async def _start_with_retry(self) -> None:
        """A broker that is still starting (or restarting) is waited for, not treated as fatal."""
        delay = 0.2
        while not self._closing:
            try:
                await self._consumer.start()
                return
            except KafkaError as exc:
                log.warning("consumer cannot reach %s yet (%s); retrying", self.bootstrap, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _wait_for_room(self) -> None:
        consumer = self._consumer
        consumer.pause(*consumer.assignment())
        self._room.clear()
        if self.depth() >= self.config.max_queue:
            try:
                await asyncio.wait_for(self._room.wait(), timeout=_POLL_MS / 1000)
            except asyncio.TimeoutError:
                pass
        if self.depth() < self.config.max_queue:
            consumer.resume(*consumer.assignment())

    def _accept(self, batches: Mapping[TopicPartition, list[Any]]) -> None:
        items: list[KafkaItem] = []
        s = self.config
        received = now_ns()
        wall_to_mono = wall_to_monotonic_ns(0)  # one clock offset per fetch, not two clock reads per record
        for tp, records in batches.items():
            if not records:
                continue
            role = self.subscriptions[tp.topic]
            self.tracker.delivered(tp, [r.offset for r in records])
            self._committed_from.setdefault(tp, records[0].offset)
            self.consumed += len(records)
            for record in records:
                try:
                    value = decode(role, record.value, s.max_message_bytes)
                except InvalidMessage as exc:
                    self.checkpoint.dead_letter((tp.topic, tp.partition, record.offset), record.timestamp,
                                                record.value or b"", record.key, exc.reason)
                    continue
                items.append(KafkaItem(role, tp.topic, tp.partition, record.offset, record.timestamp, record.key,
                                       value, wall_to_mono + record.timestamp * NS_PER_MS, received))
        if items:
            with self._lock:
                self._queue.extend(items)
                self.max_depth = max(self.max_depth, len(self._queue))
            self.on_ready()

    async def _producer_flush(self) -> None:
        try:
            await asyncio.wait_for(self._producer.flush_async(), 10)
        except Exception as exc:  # noqa: BLE001
            log.warning("flush before the final commit failed: %s", exc)

    async def _refresh_lag(self) -> None:
        """Lag from the high-water marks of the last fetches (Tansu reports a low end offset: lag reads low)."""
        consumer, total = self._consumer, 0
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is not None:
                total += max(high - await consumer.position(tp), 0)
        self.lag = total

    async def _commit(self) -> None:
        if self._consumer is None:
            return
        try:
            await self._refresh_lag()
        except KafkaError:
            pass  # a partition being re-assigned has no position for a moment
        points = self.tracker.to_commit()
        if not points:
            return
        try:
            await self._consumer.commit({tp: OffsetAndMetadata(off, "") for tp, off in points.items()})
        except KafkaError as exc:  # rebalance in progress or broker away: the next interval tries again
            self.commit_errors += 1
            log.warning("commit failed (%s); will retry", exc)
            return
        self.tracker.committed(points)
        for tp, offset in points.items():
            self.committed += max(offset - self._committed_from.get(tp, offset), 0)
            self._committed_from[tp] = offset
